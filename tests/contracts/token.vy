# pragma version ^0.4.0
# A minimal ERC-20 for the tests of zkmargin.chain.evm: balanceOf and decimals are what the
# proof of assets reads; mint (by the deployer only) and transfer move balances between blocks.

decimals: public(uint8)
balanceOf: public(HashMap[address, uint256])
totalSupply: public(uint256)
minter: address


@deploy
def __init__(_decimals: uint8):
    self.decimals = _decimals
    self.minter = msg.sender


@external
def mint(to: address, amount: uint256):
    assert msg.sender == self.minter
    self.balanceOf[to] += amount
    self.totalSupply += amount


@external
def transfer(to: address, amount: uint256) -> bool:
    self.balanceOf[msg.sender] -= amount
    self.balanceOf[to] += amount
    return True
