/* The measuring half of %memit --dask, run inside each Dask worker (and
 * the scheduler) through Client.run by peakmem._dask: begin resets this
 * process's high-water mark through a probe, end reads the exact peak.
 * One such measurement per process at a time (a process-wide probe,
 * guarded by the GIL); a begin while one is active ends the stale one
 * (its client went away). */
#include "internal.h"

static pm_probe_t remote_probe; /* GIL */
static int remote_active;       /* GIL */

PyObject *pm_remote_begin(PyObject *module, PyObject *unused)
{
    int rc;

    (void)module;
    (void)unused;
    if (remote_active) {
        (void)pm_probe_end(&remote_probe);
        remote_active = 0;
    }
    rc = pm_probe_begin(&remote_probe, NULL);
    if (rc < 0) {
        return pm_py_raise(rc);
    }
    remote_active = 1;
    return Py_BuildValue("(Ks)",
                         (unsigned long long)remote_probe.baseline_bytes,
                         pm_method_name(remote_probe.method));
}

PyObject *pm_remote_end(PyObject *module, PyObject *unused)
{
    uint64_t peak, end;
    int rc;

    (void)module;
    (void)unused;
    if (!remote_active) {
        /* Started after the begin (e.g. restarted by its nanny): the
         * mark since its birth lies inside the window. */
        rc = pm_hwm_read(&peak);
        if (rc == 0) {
            rc = pm_rss_self(&end);
        }
        if (rc < 0) {
            return pm_py_raise(rc);
        }
        return Py_BuildValue("(KKsO)", (unsigned long long)peak,
                             (unsigned long long)end, "hwm", Py_False);
    }
    rc = pm_probe_end(&remote_probe);
    remote_active = 0;
    if (rc < 0) {
        return pm_py_raise(rc);
    }
    return Py_BuildValue("(KKsO)",
                         (unsigned long long)remote_probe.peak_bytes,
                         (unsigned long long)remote_probe.end_bytes,
                         pm_method_name(remote_probe.method), Py_True);
}
