"""The README's commands work as written, in order, from a fresh clone.

A newcomer types the README's commands top to bottom. When the tour ran `autoenhance package`
before the deploy steps' `cp .env.example .env`, a fresh clone met ten errors. This test reads the
commands from the README itself (its ```` ```sh tour ```` blocks, so there is no copied list to
drift) and runs each, in order, in a copy of the repository against the embedded fakes. Each must
exit with the code the README gives it: 0, or N when its comment says `(exit N)`.

The copy is the files git lists (tracked, or untracked and not ignored), as a clone has them, with
the top-level configuration a user edits (serverless.yml, .env.example, image-task.json,
rules.example.json, events/, samples/) replaced by the test fixtures: a user's own configuration
must not break this test, and the README speaks of the shipped one, which the fixtures copy.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from markdown_docs import fences
from repo import ROOT, copy_repository, premade_venv, use_fixture_configuration

# Run by the README but not by this test, each for a reason; each must still be in the README, so
# a renamed command cannot silently drop out of the test.
NOT_RUN = {
    "python3 dev.py test": "it runs the whole suite, this test included",
    "scf deploy": "it deploys to a real Tencent Cloud account",
}
EXIT = re.compile(r"\(exit (\d+)\)")
TASK_ID = re.compile(r"TaskId (\S+)")
# What a user's shell would otherwise bring in: credentials and the function's configuration.
NOT_INHERITED = ("TENCENTCLOUD_", "TENCENT_", "MPS_", "OUTPUT_", "IMAGE_", "COS_", "TRIGGER_", "RULES_FILE")
NOT_INHERITED_NAMES = ("AUTOENHANCE_PROJECT_DIR", "AUTOENHANCE_STATE_DIR", "PYTHONPATH", "VIRTUAL_ENV")


def tour_commands(readme: str) -> list[str]:
    """The commands of the README's ```sh tour blocks, in order: continuation lines joined,
    comment-only lines left out."""
    commands: list[str] = []
    for fence in fences(readme):
        words = fence.info.split()
        if words[:1] != ["sh"] or "tour" not in words[1:]:
            continue
        pending = ""
        for line in fence.lines:
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1].rstrip() + " "
                continue
            commands.append(pending + line.strip())
            pending = ""
        assert not pending, f"a ```sh tour block ends inside a continued command: {pending!r}"
    return commands


def without_comment(command: str) -> str:
    """The command as a shell reads it, its trailing `# ...` comment dropped (quotes respected)."""
    quote = None
    for i, char in enumerate(command):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or command[i - 1].isspace()):
            return command[:i].strip()
    return command.strip()


def expected_exit(command: str) -> int:
    comment = command[len(without_comment(command)) :]
    found = EXIT.search(comment)
    return int(found.group(1)) if found else 0


def test_tour_commands_are_read_as_written() -> None:
    """The reading itself, on a block shaped like the README's."""
    readme = (
        "```sh tour\n"
        "# a comment line\n"
        "autoenhance replay a.json    # submit it\n"
        'autoenhance generate-event --key "a b.jpg" \\\n'
        "    --out x.json             # two lines, one command\n"
        "autoenhance report log.jsonl # one failed (exit 1)\n"
        "```\n"
        "```sh\nnot run\n```\n"
    )
    commands = tour_commands(readme)
    assert [without_comment(c) for c in commands] == [
        "autoenhance replay a.json",
        'autoenhance generate-event --key "a b.jpg" --out x.json',
        "autoenhance report log.jsonl",
    ]
    assert [expected_exit(c) for c in commands] == [0, 0, 1]
    assert without_comment('echo "#not a comment" # a comment') == 'echo "#not a comment"'


def user_environment(root: Path, state: Path) -> dict[str, str]:
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(NOT_INHERITED) and k not in NOT_INHERITED_NAMES and not k.startswith("PYTEST_")
    }
    return {
        **keep,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{keep.get('PATH', '')}",  # the venv, as if activated
        "PYTHONPATH": str(root),
        "AUTOENHANCE_STATE_DIR": str(state),
        "EDITOR": "true",  # `$EDITOR .env`: the user keeps the example's values, as the fixtures hold them
    }


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout: no file list to copy")
    if shutil.which("bash") is None:
        pytest.skip("no bash to run the README's commands in")
    root = copy_repository(tmp_path_factory.mktemp("fresh-clone") / "mps-autoenhance")
    use_fixture_configuration(root)
    premade_venv(root)
    return root


# `autoenhance package` compiles the bytecode with SCF's own Python 3.9 (the fixture's runtime): where it
# is missing, dev.py deselects this test locally and fails the run in CI, as for the other tests needing it.
@pytest.mark.scf_python39
def test_the_readme_commands_run_in_order_from_a_fresh_clone(fresh_clone: Path, tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = tour_commands(readme)
    for skipped in NOT_RUN:
        assert any(without_comment(c) == skipped for c in commands), f"the README no longer runs {skipped!r}"
    assert len(commands) - len(NOT_RUN) >= 10, f"the README's ```sh tour blocks hold only {commands}"
    env = user_environment(fresh_clone, tmp_path / "state")
    output = ""
    for command in commands:
        shell = without_comment(command)
        if shell in NOT_RUN:
            continue
        if "<TaskId>" in shell:  # the README says: the TaskId replay printed
            printed = TASK_ID.findall(output)
            assert printed, f"{shell}: no TaskId printed by the commands before it"
            shell = shell.replace("<TaskId>", printed[-1])
        r = subprocess.run(
            ["bash", "-c", shell], cwd=fresh_clone, env=env, capture_output=True, text=True, timeout=180, check=False
        )
        output += r.stdout
        assert r.returncode == expected_exit(command), (
            f"README: `{shell}` exited {r.returncode}, the README says {expected_exit(command)}\n"
            f"stdout:\n{r.stdout[-3000:]}\nstderr:\n{r.stderr[-3000:]}"
        )
