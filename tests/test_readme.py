"""The README's code reads on its own: its snippets define the names they use
(run in order, as a reader would), and it cites nothing a reader cannot see."""

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_snippets_define_the_names_they_use(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 5
    script = tmp_path / "readme_snippets.py"
    script.write_text("\n".join(blocks))
    checked = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--select", "F821",
         "--output-format", "concise", str(script)],
        capture_output=True, text=True,
    )
    assert checked.returncode == 0, checked.stdout


def test_readme_cites_no_hidden_sections():
    assert "§" not in README.read_text()
