"""Time in the sandbox: AWS's waits (propagation windows, consistency delays, queue
delays) are stated in AWS seconds and can run faster than real time.

`scale` 0.05 makes a 90-second IAM propagation window last 4.5 real seconds, so a
test of AWS at its slowest stays fast. driftguard's own short waits inside a
function (its clock is the real one) are not scaled.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class SandboxTime:
    scale: float = 1.0  # real seconds per AWS second

    def real(self, aws_seconds: float) -> float:
        """How long `aws_seconds` of AWS's time take here."""
        return max(0.0, aws_seconds) * self.scale

    def now(self) -> float:
        """Monotonic real time (compare with `real(...)` offsets)."""
        return time.monotonic()

    def since(self, moment: float) -> float:
        """AWS seconds elapsed since the monotonic `moment`."""
        elapsed = time.monotonic() - moment
        return elapsed / self.scale if self.scale > 0 else float("inf")
