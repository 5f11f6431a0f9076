# LineProfiler used directly: code_map holds per line (increment, memory,
# occurrences); show_results prints the table.
import unittest

from memory_profiler import LineProfiler, show_results


def line_stats(profiler):
    """The (increment, memory, occurrences) of each line of the one
    profiled function, in line order."""
    (lines,) = list(profiler.code_map.values())
    return [v for _, v in sorted(lines.items()) if v is not None]


class Increments(unittest.TestCase):
    def profile_call(self, func):
        profiler = LineProfiler()
        profiler(func)()
        show_results(profiler)
        return line_stats(profiler)

    def test_occurrences_of_a_loop(self):
        def loop():
            for i in range(7):
                i += 1

        stats = self.profile_call(loop)
        self.assertEqual(stats[-2][2], 8)  # the for line: 7 + the exit
        self.assertEqual(stats[-1][2], 7)

    def test_increment_of_an_allocation(self):
        def alloc():
            block = [1] * (10 ** 6)

        stats = self.profile_call(alloc)
        self.assertGreater(stats[-1][0], 0)
        self.assertGreater(stats[-1][1], stats[-1][0])
        self.assertEqual(stats[-1][2], 1)

    def test_increments_add_up_in_a_loop(self):
        def loop_alloc():
            keep = []
            one = [3] * (2 * 10 ** 7)
            for _ in range(2):
                more = [3] * (2 * 10 ** 7)
                keep.append(more)

        stats = self.profile_call(loop_alloc)
        one, more = stats[-4], stats[-2]
        self.assertAlmostEqual(one[0] * 2, more[0], delta=1)
        self.assertEqual(more[2], 2)

    def test_decrement_of_a_del(self):
        def free():
            block = [4] * (2 * 10 ** 7)
            del block

        stats = self.profile_call(free)
        self.assertLess(stats[-1][0], 0)
        self.assertGreater(stats[-1][1], 0)
        self.assertAlmostEqual(-stats[-1][0], stats[-2][0], delta=1)


if __name__ == "__main__":
    unittest.main()
