# mprof's run_action with --exit-code: SystemExit carries the program's
# exit code (0 for a script that ends well, 1 for one that raises).
import sys
import tempfile
import unittest

from mprof import run_action


class ExitCode(unittest.TestCase):
    def run_script(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".py") as f:
            f.write(text)
            f.flush()
            sys.argv = ["mprof", "--exit-code", "-o", f.name + ".dat",
                        f.name]
            with self.assertRaises(SystemExit) as cm:
                run_action()
        return cm.exception.code

    def test_success(self):
        self.assertEqual(self.run_script("x = 2 * 21\n"), 0)

    def test_failure(self):
        self.assertEqual(self.run_script("raise ValueError('no')\n"), 1)


if __name__ == "__main__":
    unittest.main()
