"""Reading a path declaration's stream record (pure): anything else is refused clearly."""

from __future__ import annotations

import pytest

from driftguard.errors import InvalidEventError
from driftguard.path_declaration_watch import PathDeclarationChange, is_path_image


def test_a_stream_record_that_is_not_a_path_declaration_is_refused_clearly() -> None:
    assert not is_path_image({"pk": "RES#arn", "sk": "DECLARED"})
    assert not is_path_image({"pk": "PATH", "sk": "STATUS#p"})
    assert is_path_image({"pk": "PATH", "sk": "DECLARED#p"})
    with pytest.raises(InvalidEventError, match="no access path declaration"):
        PathDeclarationChange.of(None, {"pk": "PATH", "sk": "STATUS#p"})
    with pytest.raises(InvalidEventError, match="access path p is unreadable"):
        PathDeclarationChange.of(None, {"pk": "PATH", "sk": "DECLARED#p", "name": "p"})
