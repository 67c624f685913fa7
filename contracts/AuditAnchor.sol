// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";

/// @title AuditAnchor
/// @notice Append-only, gap-free record of OpenMCP-Chain audit batch roots (RFC 9162 Merkle trees
///         over SHA-256). Batch ids run 0, 1, 2, … and each batch covers the audit sequence numbers
///         right after the previous one, so the on-chain record has no gaps and no rewrites.
/// @dev Leaf = SHA-256(0x00 ‖ seq as uint64 big-endian ‖ eventHash); node = SHA-256(0x01 ‖ left ‖ right).
///      Byte-level spec: docs/proofs.md.
///      The admin (DEFAULT_ADMIN_ROLE, which grants and revokes anchorers) is one account and moves in
///      two steps with a delay (OpenZeppelin's AccessControlDefaultAdminRules): the admin calls
///      beginDefaultAdminTransfer(newAdmin), and only newAdmin, once the delay is over, can
///      acceptDefaultAdminTransfer(); grantRole/revokeRole of DEFAULT_ADMIN_ROLE revert. A mistyped
///      address therefore never takes the role, and the admin can cancel until it is accepted.
contract AuditAnchor is AccessControlDefaultAdminRules {
    /// @notice Role allowed to call anchor().
    bytes32 public constant ANCHORER_ROLE = keccak256("ANCHORER_ROLE");

    struct Range {
        uint64 firstSeq;
        uint64 lastSeq;
        uint64 anchoredAt;
    }

    // One root slot and one packed range slot per batch: two fresh SSTOREs is the floor.
    mapping(uint64 batchId => bytes32) private _roots;
    mapping(uint64 batchId => Range) private _ranges;
    // Packed in one slot. Starts non-zero (bit 128) so even the first anchor rewrites a warm,
    // non-zero slot instead of paying for a zero-to-non-zero write.
    uint64 private _nextBatchId;
    uint64 private _nextSeq;
    uint128 private _initialized = 1;

    /// @notice anchor() was called with a batch id other than nextBatchId().
    error AuditAnchorBatchOutOfOrder(uint64 expected, uint64 got);
    /// @notice The batch does not start right after the previous batch's last seq.
    error AuditAnchorNonContiguous(uint64 expected, uint64 got);
    /// @notice lastSeq is below firstSeq.
    error AuditAnchorEmptyRange(uint64 firstSeq, uint64 lastSeq);
    /// @notice The zero root is never a valid RFC 9162 root of a non-empty tree.
    error AuditAnchorZeroRoot();
    /// @notice lastSeq is the last uint64: the next batch's first seq would wrap around to 0.
    error AuditAnchorSeqOverflow(uint64 lastSeq);
    /// @notice The batch has not been anchored.
    error AuditAnchorUnknownBatch(uint64 batchId);

    /// @notice A batch root was recorded. Emitted once per batch id, ever.
    event BatchAnchored(uint64 indexed batchId, uint64 firstSeq, uint64 lastSeq, bytes32 root);

    /// @param admin receives DEFAULT_ADMIN_ROLE (grants and revokes anchorers); not the zero address.
    /// @param anchorer receives ANCHORER_ROLE.
    /// @param adminDelay seconds between beginDefaultAdminTransfer() and the earliest
    ///        acceptDefaultAdminTransfer() (changeDefaultAdminDelay() changes it later).
    constructor(address admin, address anchorer, uint48 adminDelay) AccessControlDefaultAdminRules(adminDelay, admin) {
        _grantRole(ANCHORER_ROLE, anchorer);
    }

    /// @notice Record the root of the next batch. Roots are final: a batch id is accepted once.
    /// @dev Requires batchId == nextBatchId(), firstSeq == the previous lastSeq + 1 (0 for batch 0),
    ///      firstSeq <= lastSeq < 2^64 - 1 and a non-zero root. Caller needs ANCHORER_ROLE.
    /// @param batchId the batch id, equal to nextBatchId()
    /// @param firstSeq the first audit sequence number in the batch
    /// @param lastSeq the last audit sequence number in the batch (inclusive)
    /// @param root the RFC 9162 root over the batch's leaves
    function anchor(uint64 batchId, uint64 firstSeq, uint64 lastSeq, bytes32 root) external onlyRole(ANCHORER_ROLE) {
        uint64 expectedId = _nextBatchId;
        if (batchId != expectedId) revert AuditAnchorBatchOutOfOrder(expectedId, batchId);
        uint64 expectedSeq = _nextSeq;
        if (firstSeq != expectedSeq) revert AuditAnchorNonContiguous(expectedSeq, firstSeq);
        if (lastSeq < firstSeq) revert AuditAnchorEmptyRange(firstSeq, lastSeq);
        if (root == bytes32(0)) revert AuditAnchorZeroRoot();
        // Otherwise nextSeq wraps to 0 and seqs already anchored could be anchored again.
        if (lastSeq == type(uint64).max) revert AuditAnchorSeqOverflow(lastSeq);

        _roots[batchId] = root;
        _ranges[batchId] = Range(firstSeq, lastSeq, uint64(block.timestamp));
        // Cannot overflow: lastSeq < 2^64 - 1 (checked above); a batch id needs a transaction each.
        unchecked {
            _nextBatchId = batchId + 1;
            _nextSeq = lastSeq + 1;
        }
        emit BatchAnchored(batchId, firstSeq, lastSeq, root);
    }

    /// @notice The id the next anchor() must carry (= number of anchored batches).
    function nextBatchId() external view returns (uint64) {
        return _nextBatchId;
    }

    /// @notice The first audit sequence number the next batch must start at.
    function nextSeq() external view returns (uint64) {
        return _nextSeq;
    }

    /// @notice An anchored batch. Reverts with AuditAnchorUnknownBatch for an id not yet anchored.
    /// @param batchId the batch id
    /// @return root the RFC 9162 root
    /// @return firstSeq first audit sequence number
    /// @return lastSeq last audit sequence number (inclusive)
    /// @return anchoredAt block timestamp of the anchoring transaction
    function batch(uint64 batchId) external view returns (bytes32 root, uint64 firstSeq, uint64 lastSeq, uint64 anchoredAt) {
        if (batchId >= _nextBatchId) revert AuditAnchorUnknownBatch(batchId);
        Range memory r = _ranges[batchId];
        return (_roots[batchId], r.firstSeq, r.lastSeq, r.anchoredAt);
    }

    /// @notice Check an RFC 9162 inclusion proof against the stored root, with the SHA-256 precompile.
    /// @dev Returns false (never reverts) for an unknown batch, an index outside the batch,
    ///      a proof of the wrong length or a root mismatch.
    /// @param batchId the batch id
    /// @param index the leaf's index in the batch (seq - firstSeq)
    /// @param leafHash SHA-256(0x00 ‖ seq ‖ eventHash)
    /// @param proof sibling hashes from the leaf up to the root's child
    /// @return ok whether the proof leads to the anchored root
    function verifyInclusion(uint64 batchId, uint64 index, bytes32 leafHash, bytes32[] calldata proof)
        external
        view
        returns (bool ok)
    {
        if (batchId >= _nextBatchId) return false;
        Range memory r = _ranges[batchId];
        uint64 size = r.lastSeq - r.firstSeq + 1;
        if (index >= size) return false;
        uint64 fn = index;
        uint64 sn = size - 1;
        bytes32 h = leafHash;
        for (uint256 i = 0; i < proof.length; i++) {
            if (sn == 0) return false;
            if (fn & 1 == 1 || fn == sn) {
                h = sha256(abi.encodePacked(bytes1(0x01), proof[i], h));
                while (fn & 1 == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                h = sha256(abi.encodePacked(bytes1(0x01), h, proof[i]));
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && h == _roots[batchId];
    }
}
