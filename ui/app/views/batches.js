import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Badge, Empty, ErrorBox, Hex, Loading, useAsync, useLiveRefresh } from '../components.js';
import { formatCount, formatDuration, formatTime } from '../format.js';
import { html } from '../html.js';

export function BatchesView() {
  const [pages, setPages] = useState(1);
  const batches = useAsync(async () => {
    const items = [];
    let cursor;
    for (let i = 0; i < pages; i++) {
      const page = await api(`/v1/batches?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      items.push(...page.items);
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    return { items, more: !!cursor };
  }, [pages], '');
  useLiveRefresh((n) => n.type === 'BatchSealed' || n.type === 'BatchAnchored' || n.type === 'BatchReanchored', batches.reload, 500);
  const items = batches.value?.items ?? [];
  return html`<h1>Batches and anchors</h1>
    <p class="muted">Each batch is a gap-free range of the audit sequence, a Merkle root signed by the sealer and written to AuditAnchor on-chain.</p>
    <${ErrorBox} error=${batches.error} retry=${batches.reload} />
    ${!batches.value && !batches.error ? html`<${Loading} what="Loading batches" />` : null}
    ${batches.value && items.length === 0 ? html`<${Empty}>No batch sealed yet. The sealer closes one when it has enough events or its oldest event has waited long enough.</${Empty}>` : null}
    ${items.length
      ? html`<div class="table-wrap"><table class="batches">
          <thead><tr><th scope="col" class="num">Batch</th><th scope="col">Seq range</th><th scope="col">Root</th><th scope="col">Signer</th><th scope="col">Anchor</th><th scope="col">Transaction</th><th scope="col" class="num">Block</th><th scope="col">Sealed</th><th scope="col" class="num">Anchoring lag</th></tr></thead>
          <tbody>${items.map((/** @type {any} */ b) => {
            const lag = b.anchor?.anchoredAt && b.sealedAt ? Date.parse(b.anchor.anchoredAt) - Date.parse(b.sealedAt) : undefined;
            return html`<tr data-batch=${b.id}>
              <td class="num">${b.id}</td>
              <td>${formatCount(b.firstSeq)}–${formatCount(b.lastSeq)} <span class="muted small">(${formatCount(b.lastSeq - b.firstSeq + 1, 'event')})</span></td>
              <td><${Hex} value=${b.root} /></td>
              <td><${Hex} value=${b.signer} keep=${4} /></td>
              <td>${b.anchor ? html`<${Badge} status="completed" label="Anchored" /> <span class="muted small">chain ${b.anchor.chainId}</span>` : html`<${Badge} status="pending" label="Not anchored yet" />`}</td>
              <td>${b.anchor ? html`<${Hex} value=${b.anchor.txHash} />` : '—'}</td>
              <td class="num">${b.anchor ? formatCount(b.anchor.blockNumber) : '—'}</td>
              <td>${formatTime(b.sealedAt)}</td>
              <td class="num">${lag !== undefined ? formatDuration(lag) : b.anchor ? '—' : 'waiting'}</td>
            </tr>`;
          })}</tbody>
        </table></div>
        ${batches.value?.more ? html`<button type="button" onClick=${() => setPages(pages + 1)}>Load older batches</button>` : null}`
      : null}`;
}
