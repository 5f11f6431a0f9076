"""`peakmem plot -o out.png`: the recording drawn with matplotlib, as the
SVG draws it (main line, children, shaded @profile function spans, the
peak marked). Imported only when a PNG is asked for."""


def draw(out, title, series, spans):
    """Write the PNG out. series: [(label, [t...], [mib...]), ...], the
    main process first; spans: [(name, t0, t1), ...]; times in seconds
    from the first sample."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9.6, 4.8))
    for label, t, mib in series:
        ax.plot(t, mib, label=label, linewidth=1.2)
    for name, t0, t1 in spans:
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
