"""RTP port reservation: even ports only, a clear error when the range is used up."""

from __future__ import annotations

import pytest

from media.ports import NoFreePort, PortAllocator


def test_only_even_ports_of_the_range_are_handed_out() -> None:
    ports = PortAllocator(30001, 30008)
    assert [ports.reserve() for _ in range(ports.capacity)] == [30002, 30004, 30006, 30008]


def test_an_exhausted_range_says_no_free_port_until_one_is_released() -> None:
    ports = PortAllocator(30000, 30003)
    first, second = ports.reserve(), ports.reserve()
    with pytest.raises(NoFreePort, match="no free RTP port in 30000-30003"):
        ports.reserve()
    ports.release(first)
    assert ports.reserve() == first
    assert ports.in_use == 2 and second == 30002


def test_a_released_port_is_reused_last() -> None:
    ports = PortAllocator(30000, 30005)
    first = ports.reserve()
    ports.release(first)
    assert ports.reserve() == 30002


def test_releasing_an_unknown_port_changes_nothing() -> None:
    ports = PortAllocator(30000, 30003)
    ports.release(40000)
    assert (ports.capacity, ports.in_use) == (2, 0)


def test_an_empty_range_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="empty port range"):
        PortAllocator(30010, 30000)
