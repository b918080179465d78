import pytest

from pocketenv_tui.app.commands import CommandError, parse_command
from pocketenv_tui.app.validation import expand_repo, name_error, port_error, repo_error


@pytest.mark.parametrize(
    ("typed", "url"),
    [
        ("github:pocketenv-io/pocketenv", "https://github.com/pocketenv-io/pocketenv"),
        ("gitlab:group/project", "https://gitlab.com/group/project"),
        ("tangled:alice.dev/tool", "https://tangled.org/alice.dev/tool"),
        ("https://example.com/x.git", "https://example.com/x.git"),
        ("  ", None),
    ],
)
def test_repo_shorthands_expand(typed, url):
    assert expand_repo(typed) == url


def test_incomplete_shorthand_is_an_error():
    assert "owner/repo" in repo_error("github:justowner")
    assert repo_error("github:a/b") is None


def test_names_and_ports():
    assert name_error("") is None
    assert name_error("my-box-1") is None
    assert name_error("Bad Name") is not None
    assert name_error("-dash") is not None
    assert port_error("8080") is None
    assert "1025" in port_error("1024")
    assert port_error("65536") is not None
    assert port_error("http") is not None


@pytest.mark.parametrize(
    ("typed", "name", "args"),
    [
        (":sandboxes", "sandboxes", ()),
        ("sb", "sandboxes", ()),
        (":ps", "running", ()),
        (":running", "running", ()),
        (":templates", "catalog", ()),
        (":ctx local", "ctx", ("local",)),
        (":q", "quit", ()),
        (":sort created desc", "sort", ("created", "desc")),
        (":THEME nord", "theme", ("nord",)),
    ],
)
def test_command_aliases(typed, name, args):
    command = parse_command(typed)
    assert (command.name, command.args) == (name, args)


@pytest.mark.parametrize("typed", ["", ":", ":frobnicate", ':sort "unclosed'])
def test_bad_commands_explain_themselves(typed):
    with pytest.raises(CommandError):
        parse_command(typed)
