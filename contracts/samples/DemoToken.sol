// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title DemoToken
/// @notice A minimal ERC20-like token for agent demos and tests: the deployer receives the whole
///         supply; holders transfer. No approvals, no minting after deployment.
contract DemoToken {
    string public constant name = "Demo Token";
    string public constant symbol = "DEMO";
    uint8 public constant decimals = 18;

    uint256 private _totalSupply;
    mapping(address account => uint256) private _balances;

    /// @notice Raised when `from` holds less than `needed`.
    error DemoTokenInsufficientBalance(address from, uint256 balance, uint256 needed);
    /// @notice Raised on a transfer to the zero address.
    error DemoTokenInvalidReceiver(address to);

    event Transfer(address indexed from, address indexed to, uint256 value);

    /// @param supply Tokens (in base units) credited to the deployer.
    constructor(uint256 supply) {
        _totalSupply = supply;
        _balances[msg.sender] = supply;
        emit Transfer(address(0), msg.sender, supply);
    }

    /// @notice Total tokens in existence.
    function totalSupply() external view returns (uint256) {
        return _totalSupply;
    }

    /// @notice Tokens held by `account`.
    function balanceOf(address account) external view returns (uint256) {
        return _balances[account];
    }

    /// @notice Move `amount` of the caller's tokens to `to`.
    function transfer(address to, uint256 amount) external returns (bool) {
        if (to == address(0)) revert DemoTokenInvalidReceiver(to);
        uint256 balance = _balances[msg.sender];
        if (balance < amount) revert DemoTokenInsufficientBalance(msg.sender, balance, amount);
        unchecked {
            // Cannot underflow (checked above) nor overflow (the sum of balances is the supply).
            _balances[msg.sender] = balance - amount;
            _balances[to] += amount;
        }
        emit Transfer(msg.sender, to, amount);
        return true;
    }
}
