from shardmap import HashRing
from shardmap.rebalance import moves, with_node


def test_adding_a_node_moves_only_keys_to_it():
    keys = [f"session:{n}" for n in range(500)]
    before = HashRing(["a", "b", "c"], replicas=32)
    after = with_node(before, "d")
    planned = moves(before, after, keys)
    assert planned
    assert all(new == "d" for _, new in planned.values())
    assert len(planned) < len(keys) / 2
