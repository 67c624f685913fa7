/** The approver's view of a transaction is a web3 concept; the policy names it from there. */
export { proposalHash, type Proposal } from '../../web3/proposal';
