from datetime import UTC, datetime, timedelta

import pytest
from rich.text import Text

from pocketenv_tui.app.formatting import (
    format_age,
    format_duration,
    format_resources,
    format_timestamp,
    format_uptime,
    status_text,
    theme_colour,
)

NOW = datetime(2026, 4, 15, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (-5, "0s"),
        (0, "0s"),
        (59, "59s"),
        (60, "1m"),
        (3599, "59m"),
        (3600, "1h"),
        (3600 + 12 * 60, "1h12m"),
        (86400, "1d"),
        (86400 * 4 + 3600 * 2, "4d2h"),
        (86400 * 365, "1y"),
        (86400 * 385, "1y20d"),
    ],
)
def test_durations_are_compact_and_truncated(seconds, shown):
    assert format_duration(seconds) == shown


def test_age_treats_naive_datetimes_as_utc():
    naive = datetime(2026, 4, 15, 11, 0, 0)
    assert format_age(naive, NOW) == "1h"
    assert format_age(None, NOW) == ""


def test_uptime_only_for_running_sandboxes():
    started = NOW - timedelta(minutes=5, seconds=3)
    assert format_uptime("RUNNING", started, NOW) == "5m"
    assert format_uptime("STOPPED", started, NOW) == "-"
    assert format_uptime("RUNNING", None, NOW) == "-"


def test_resources_show_unknown_parts():
    assert format_resources(2, 4, 8) == "2 vCPU / 4 GB / 8 GB"
    assert format_resources(None, None, None) == "-"
    assert format_resources(2, None, 8) == "2 vCPU / - GB / 8 GB"


def test_timestamp_is_utc():
    assert format_timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02 03:04:05 UTC"
    assert format_timestamp(None) == "-"


def test_status_colour_comes_from_theme_variables():
    variables = {"text-success": "#00ff00", "foreground-muted": "#ffffff80", "background": "#000000"}
    running = status_text("RUNNING", variables)
    assert isinstance(running, Text) and running.plain == "RUNNING"
    assert "#00ff00" in str(running.style).lower()
    # Translucent variables are blended over the background into an opaque colour.
    assert theme_colour("foreground-muted", variables).lower() == "#808080"
    # A status the dashboard does not know keeps its word and still renders.
    assert status_text("PAUSED", variables).plain == "PAUSED"
    assert theme_colour("missing", variables) is None
