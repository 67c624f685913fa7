// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title PayableSink
/// @notice Test target for native-currency caps: `deposit` takes value, `ping` takes none but
///         costs gas all the same, `refuse` reverts (its value is not taken, its gas is).
contract PayableSink {
    uint256 private _pings;

    /// @notice Raised by `refuse`, whatever was sent.
    error PayableSinkRefused(uint256 value);

    event Deposited(address indexed from, uint256 amount);
    event Pinged(address indexed from, uint256 count);

    /// @notice Keep the value sent.
    function deposit() external payable {
        emit Deposited(msg.sender, msg.value);
    }

    /// @notice Always reverts: the value sent stays with the sender, the gas is paid.
    function refuse() external payable {
        revert PayableSinkRefused(msg.value);
    }

    /// @notice Change state without moving value (a call that costs gas only).
    function ping() external {
        unchecked {
            // A test counter: cannot reach 2^256.
            _pings += 1;
        }
        emit Pinged(msg.sender, _pings);
    }
}
