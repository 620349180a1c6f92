"""Splitting one PS pack (one frame) into RTP packets, the way GB/T 28181 cameras send it."""

from __future__ import annotations

from media.rtp.packet import build_rtp

DEFAULT_PAYLOAD_SIZE = 1400
PS_PAYLOAD_TYPE = 96


class Packetizer:
    """All packets of a frame share its 90 kHz timestamp; the last one carries the marker bit."""

    def __init__(
        self,
        *,
        ssrc: int,
        payload_type: int = PS_PAYLOAD_TYPE,
        payload_size: int = DEFAULT_PAYLOAD_SIZE,
        first_sequence: int = 0,
    ) -> None:
        if payload_size < 1:
            raise ValueError("payload_size must be positive")
        self.ssrc = ssrc & 0xFFFFFFFF
        self.payload_type = payload_type
        self.payload_size = payload_size
        self.sequence = first_sequence & 0xFFFF

    def packetize(self, pack: bytes, timestamp: int) -> list[bytes]:
        size = self.payload_size
        view = memoryview(pack)
        chunks = [view[i : i + size] for i in range(0, len(pack), size)] or [view]
        last = len(chunks) - 1
        out: list[bytes] = []
        for index, chunk in enumerate(chunks):
            out.append(
                build_rtp(
                    payload_type=self.payload_type,
                    sequence=self.sequence,
                    timestamp=timestamp,
                    ssrc=self.ssrc,
                    payload=bytes(chunk),
                    marker=index == last,
                )
            )
            self.sequence = (self.sequence + 1) & 0xFFFF
        return out
