"""gbsim: a GB/T 28181 device simulator built on the project's own SIP, MANSCDP, SDP and PS code.

The per-device logic (`device.DeviceCore`) is sans-IO: it is fed parsed SIP messages and the
current time and answers with actions (messages to send, media to start or stop). The asyncio
layer in `runner` owns the sockets and one timer heap for all devices.
"""
