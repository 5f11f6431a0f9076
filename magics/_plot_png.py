"""`peakmem plot -o out.png`: the recording drawn with matplotlib, as the
SVG draws it (main line, children, shaded @profile function spans, the
peak marked). Imported only when a PNG is asked for."""


def draw(out, title, series, spans, flame=False, backend=None):
    """Write the PNG out. series: [(label, [t...], [mib...]), ...], the
    main process first (a "trend" series is dashed); spans: [(name, t0,
    t1, level), ...], bands, or with flame bars stacked by level; times in
    seconds from the first sample. backend: matplotlib's (default Agg)."""
    import matplotlib
    matplotlib.use(backend or "Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9.6, 4.8))
    for label, t, mib in series:
        ax.plot(t, mib, "--" if label == "trend" else "-", label=label,
                linewidth=1.2)
    deepest = max([s[3] for s in spans] + [0])
    if flame and spans:
        bars = ax.twinx()
        bars.set_yticks([])
        bars.set_ylim(0, deepest + 2)
        for name, t0, t1, level in spans:
            bars.barh(level + 0.5, t1 - t0, left=t0, height=1.0,
                      alpha=0.5, color="tab:orange", edgecolor="black")
            bars.text(t0, level + 0.5, " " + name, va="center", fontsize=8)
    for name, t0, t1, level in ([] if flame else spans):
        ax.axvspan(t0, t1, alpha=0.15, color="tab:orange")
        ax.text(t0, 0.02, " " + name, transform=ax.get_xaxis_transform(),
                va="bottom", fontsize=8)
    label, t, mib = series[0]
    if mib:
        i = max(range(len(mib)), key=mib.__getitem__)
        ax.axhline(mib[i], color="tab:red", linestyle="--", linewidth=0.8)
        ax.plot([t[i]], [mib[i]], "o", color="tab:red")
        ax.annotate("peak %.1f MiB" % mib[i], (t[i], mib[i]),
                    textcoords="offset points", xytext=(5, 5))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("memory (MiB)")
    ax.set_title(title)
    ax.set_ylim(bottom=0)
    if len(series) > 1:
        ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
