# mprof's function_labels: the shortest unambiguous suffix of each name.
import unittest

import mprof


class Labels(unittest.TestCase):
    def test_labels(self):
        want = {
            "pkg.run": "run",
            "pkg.load": "pkg.load",
            "a.b.load": "a.b.load",
            "c.b.load": "c.b.load",
            "c.b.save": "b.save",
            "io.save": "io.save",
            "main": "main",
        }
        self.assertEqual(mprof.function_labels(want.keys()), want)


if __name__ == "__main__":
    unittest.main()
