"""Multi-message Catalog and RecordInfo assembly: real traces, adversarial orderings, deadlines."""

from __future__ import annotations

import random
import re
import time
from datetime import datetime

import pytest

from sip_gateway.manscdp import (
    CatalogAssembler,
    CatalogItem,
    CatalogResponse,
    RecordInfoAssembler,
    RecordInfoResponse,
    RecordItem,
    parse_manscdp,
)
from sip_gateway.manscdp.device_build import catalog_response
from tests.vectors import vector_path

DEV = "34020000001320000001"
ODD_NAMES = ["𠀀", "䶮", "鎔", "€", "大门", "A&B"]


def part(sn: int, sum_num: int | None, *device_ids: str, root: str = "Response") -> CatalogResponse:
    items = tuple(CatalogItem(device_id=d, name=d[-3:]) for d in device_ids)
    return CatalogResponse(
        root=root, cmd_type="Catalog", sn=sn, device_id=DEV, sum_num=sum_num, num=None, items=items
    )


def channel(i: int) -> str:
    return f"3402000000131{i:07d}"


def test_single_message_catalog_completes_immediately() -> None:
    done = CatalogAssembler().feed(part(1, 1, channel(1)), now=0.0)
    assert done is not None and done.complete and done.received == 1 and done.sum_num == 1


def test_sum_num_zero_completes_empty() -> None:
    done = CatalogAssembler().feed(part(1, 0), now=0.0)
    assert done is not None and done.complete and done.items == ()


def test_one_item_per_message_with_progress() -> None:
    assembler = CatalogAssembler()
    assert assembler.feed(part(2, 3, channel(1)), now=0.0) is None
    assert assembler.feed(part(2, 3, channel(2)), now=1.0) is None
    progress = assembler.progress(DEV, 2)
    assert progress is not None and (progress.received, progress.total) == (2, 3)
    done = assembler.feed(part(2, 3, channel(3)), now=2.0)
    assert (
        done is not None
        and done.complete
        and [i.device_id for i in done.items] == [channel(i) for i in (1, 2, 3)]
    )
    assert assembler.progress(DEV, 2) is None and len(assembler) == 0


def test_duplicates_are_not_double_counted_and_the_last_copy_wins() -> None:
    assembler = CatalogAssembler()
    assembler.feed(part(3, 2, channel(1)), now=0.0)
    newer = CatalogResponse(
        root="Response",
        cmd_type="Catalog",
        sn=3,
        device_id=DEV,
        sum_num=2,
        items=(CatalogItem(device_id=channel(1), name="renamed"),),
    )
    assert assembler.feed(newer, now=0.5) is None
    done = assembler.feed(part(3, 2, channel(2)), now=1.0)
    assert done is not None and done.received == 2 and done.items[0].name == "renamed"


def test_items_can_be_taken_while_the_answer_still_arrives() -> None:
    assembler = CatalogAssembler()
    assembler.feed(part(20, 4, channel(1)), now=0.0)
    assembler.feed(part(20, 4, channel(2)), now=0.1)
    assert assembler.progress(DEV, 20).fresh == 2  # type: ignore[union-attr]
    assert [i.device_id for i in assembler.take_fresh(DEV, 20)] == [channel(1), channel(2)]
    assert assembler.take_fresh(DEV, 20) == ()
    assembler.feed(part(20, 4, channel(3)), now=0.2)
    done = assembler.feed(part(20, 4, channel(4)), now=0.3)
    assert done is not None and done.complete and done.received == 4
    assert [i.device_id for i in done.fresh] == [channel(3), channel(4)]


def test_a_repeat_of_an_item_already_taken_is_given_out_again() -> None:
    assembler = CatalogAssembler()
    assembler.feed(part(21, 3, channel(1)), now=0.0)
    assembler.take_fresh(DEV, 21)
    renamed = CatalogResponse(
        root="Response", cmd_type="Catalog", sn=21, device_id=DEV, sum_num=3,
        items=(CatalogItem(device_id=channel(1), name="renamed"),),
    )
    assembler.feed(renamed, now=0.1)
    (again,) = assembler.take_fresh(DEV, 21)
    assert again.name == "renamed"
    assert assembler.progress(DEV, 21).received == 1  # type: ignore[union-attr]


def test_an_assembly_that_times_out_keeps_what_was_not_taken() -> None:
    assembler = CatalogAssembler(timeout=5)
    assembler.feed(part(22, 3, channel(1)), now=0.0)
    assembler.take_fresh(DEV, 22)
    assembler.feed(part(22, 3, channel(2)), now=1.0)
    (late,) = assembler.expire(now=6.0)
    assert not late.complete and late.received == 2 and [i.device_id for i in late.fresh] == [channel(2)]
    assert assembler.take_fresh(DEV, 22) == ()


def test_late_duplicate_after_completion_does_not_start_a_phantom_assembly() -> None:
    assembler = CatalogAssembler(timeout=10)
    assert assembler.feed(part(4, 1, channel(1)), now=0.0) is not None
    assert assembler.feed(part(4, 1, channel(1)), now=1.0) is None
    assert len(assembler) == 0 and assembler.expire(now=100.0) == []


def test_different_sns_and_devices_are_assembled_separately() -> None:
    assembler = CatalogAssembler()
    assembler.feed(part(5, 2, channel(1)), now=0.0)
    assembler.feed(part(6, 2, channel(9)), now=0.0)
    done = assembler.feed(part(5, 2, channel(2)), now=0.0)
    assert done is not None and done.sn == 5 and {i.device_id for i in done.items} == {channel(1), channel(2)}
    assert len(assembler) == 1


def test_sum_num_changing_midway_uses_the_latest() -> None:
    assembler = CatalogAssembler()
    assembler.feed(part(7, 4, channel(1)), now=0.0)
    done = assembler.feed(part(7, 2, channel(2)), now=0.1)
    assert done is not None and done.complete and done.sum_num == 2


def test_deadline_yields_what_arrived_marked_incomplete() -> None:
    assembler = CatalogAssembler(timeout=5)
    assembler.feed(part(8, 3, channel(1)), now=100.0)
    assert assembler.next_deadline() == 105.0
    assert assembler.expire(now=104.9) == []
    (late,) = assembler.expire(now=105.0)
    assert not late.complete and late.received == 1 and late.sum_num == 3


def test_each_part_extends_the_deadline() -> None:
    assembler = CatalogAssembler(timeout=5)
    assembler.feed(part(9, 3, channel(1)), now=0.0)
    assembler.feed(part(9, 3, channel(2)), now=4.0)
    assert assembler.expire(now=6.0) == []
    assert assembler.next_deadline() == 9.0


def test_a_query_nobody_answers_times_out_empty() -> None:
    assembler = CatalogAssembler(timeout=5)
    assembler.expect(DEV, 10, now=0.0)
    (silent,) = assembler.expire(now=5.0)
    assert (silent.sn, silent.items, silent.complete) == (10, (), False)


def test_missing_sum_num_waits_for_the_deadline() -> None:
    assembler = CatalogAssembler(timeout=1)
    assert assembler.feed(part(11, None, channel(1)), now=0.0) is None
    (done,) = assembler.expire(now=1.0)
    assert done.received == 1 and not done.complete


def test_memory_is_bounded_in_items_and_in_pending_assemblies() -> None:
    assembler = CatalogAssembler(max_items=2, max_pending=2)
    for i in range(5):
        assembler.feed(part(12, 100, channel(i)), now=0.0)
    assert assembler.progress(DEV, 12) is not None and assembler.progress(DEV, 12).received == 2  # type: ignore[union-attr]
    assembler.feed(part(13, 100, channel(1)), now=1.0)
    assembler.feed(part(14, 100, channel(1)), now=2.0)
    assert len(assembler) == 2
    assert assembler.next_deadline() == float("-inf")
    (evicted,) = assembler.expire(now=2.0)
    assert evicted.sn == 12 and evicted.overflowed and not evicted.complete


def test_record_info_parts_are_deduplicated_on_channel_and_time_span() -> None:
    def record(hour: int, path: str) -> RecordItem:
        return RecordItem(
            device_id=DEV,
            file_path=path,
            start_time=datetime(2024, 5, 1, hour),
            end_time=datetime(2024, 5, 1, hour, 30),
        )

    def response(*items: RecordItem) -> RecordInfoResponse:
        return RecordInfoResponse(
            root="Response", cmd_type="RecordInfo", sn=1, device_id=DEV, sum_num=2, items=items
        )

    assembler = RecordInfoAssembler()
    assert assembler.feed(response(record(1, "a")), now=0.0) is None
    assert assembler.feed(response(record(1, "a-again")), now=0.0) is None
    done = assembler.feed(response(record(2, "b")), now=0.0)
    assert done is not None and [r.file_path for r in done.items] == ["a-again", "b"]


def test_real_honeywell_platform_catalog_in_five_one_item_messages() -> None:
    raw = vector_path("sip/fri_test_tool/fri_axy_mss-jsip-messages.xml").read_bytes()
    bodies = re.findall(rb"(<\?xml[^>]*\?>\s*<Response>.*?</Response>)", raw, flags=re.S)
    honeywell = [parse_manscdp(b) for b in bodies if b"46010000002000000100</DeviceID>\n<SumNum>" in b]
    assert len(honeywell) == 5
    assembler = CatalogAssembler()
    results = [
        r for m in honeywell if isinstance(m, CatalogResponse) for r in [assembler.feed(m, now=0.0)] if r
    ]
    (done,) = results
    assert done.complete and done.received == 5 and done.items[0].name == "HON_Platform"


def generated_catalog(count: int, *, duplicates: int, seed: int) -> tuple[list[bytes], dict[str, str]]:
    """One-item GB2312-declared messages, shuffled, some repeated (renamed), some without Num."""
    rng = random.Random(seed)
    names = {channel(i): f"{ODD_NAMES[i % len(ODD_NAMES)]}通道{i}" for i in range(count)}
    bodies = [catalog_response(42, DEV, count, [CatalogItem(device_id=d, name=n)]) for d, n in names.items()]
    bodies = [b.replace(b' Num="1"', b"") if i % 3 == 0 else b for i, b in enumerate(bodies)]
    rng.shuffle(bodies)
    ids_in_order = [re.search(rb"<Item>\r\n<DeviceID>(\d+)<", b).group(1).decode() for b in bodies]  # type: ignore[union-attr]
    for device_id in rng.sample(ids_in_order[:-1], duplicates):
        names[device_id] += "-v2"
        copy = catalog_response(42, DEV, count, [CatalogItem(device_id=device_id, name=names[device_id])])
        position = next(i for i, b in enumerate(bodies) if f"<DeviceID>{device_id}<".encode() in b)
        bodies.insert(rng.randrange(position + 1, len(bodies)), copy)
    return bodies, names


def test_five_thousand_shuffled_one_item_messages_with_duplicates_and_odd_names() -> None:
    bodies, names = generated_catalog(5000, duplicates=300, seed=28181)
    assert all(b.startswith(b'<?xml version="1.0" encoding="GB2312"?>') for b in bodies)
    assembler = CatalogAssembler()
    results = []
    for now, body in enumerate(bodies):
        message = parse_manscdp(body)
        assert isinstance(message, CatalogResponse)
        done = assembler.feed(message, now=float(now) / 1000)
        if done is not None:
            results.append(done)
    (done,) = results
    assert done.complete and done.received == 5000
    assert {i.device_id: i.name for i in done.items} == names


@pytest.mark.parametrize("count", [10_000])
def test_parsing_and_applying_a_large_catalog_is_fast(count: int) -> None:
    bodies, _ = generated_catalog(count, duplicates=0, seed=1)
    assembler = CatalogAssembler()
    started = time.perf_counter()
    for body in bodies:
        message = parse_manscdp(body)
        assert isinstance(message, CatalogResponse)
        assembler.feed(message, now=0.0)
    per_thousand = (time.perf_counter() - started) / (count / 1000)
    assert per_thousand < 0.5, f"{per_thousand:.3f} s per 1,000 messages"
