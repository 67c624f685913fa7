// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title OverloadedVault
/// @notice Test target for overloaded methods: the amount sits at another position in each
///         overload, so a policy that reads the wrong argument would check the wrong number.
contract OverloadedVault {
    mapping(address account => uint256) private _balances;

    /// @notice Raised when the caller holds less than `needed`.
    error OverloadedVaultInsufficientBalance(uint256 balance, uint256 needed);

    event Paid(address indexed to, uint256 ref, uint256 amount);

    /// @param supply Units credited to the deployer.
    constructor(uint256 supply) {
        _balances[msg.sender] = supply;
    }

    /// @notice Units held by `account`.
    function balanceOf(address account) external view returns (uint256) {
        return _balances[account];
    }

    /// @notice Pay `amount` to `to` (amount is argument 1).
    function transfer(address to, uint256 amount) external returns (bool) {
        _pay(to, 0, amount);
        return true;
    }

    /// @notice Pay `amount` to `to` with a reference number (amount is argument 2).
    function transfer(uint256 ref, address to, uint256 amount) external returns (bool) {
        _pay(to, ref, amount);
        return true;
    }

    /// @notice Pay `amount` out to 0xdead (amount is argument 0).
    function withdraw(uint256 amount) external {
        _pay(address(0xdead), 0, amount);
    }

    /// @notice Pay `amount` out to 0xdead from bucket `id` (argument 0 is an id, amount is argument 1).
    function withdraw(uint256 id, uint256 amount) external {
        _pay(address(0xdead), id, amount);
    }

    function _pay(address to, uint256 ref, uint256 amount) private {
        uint256 balance = _balances[msg.sender];
        if (balance < amount) revert OverloadedVaultInsufficientBalance(balance, amount);
        unchecked {
            // Cannot underflow (checked above) nor overflow (the sum of balances is the supply).
            _balances[msg.sender] = balance - amount;
            _balances[to] += amount;
        }
        emit Paid(to, ref, amount);
    }
}
