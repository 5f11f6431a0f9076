"""Execute a notebook with nbclient in a real kernel, save it, and print
what each cell showed (text/plain of every output). Exit 1 on any error."""
import sys

import nbclient
import nbformat


def main(src, dst):
    nb = nbformat.read(src, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": "."}})
    client.execute()
    nbformat.write(nb, dst)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        print(f"--- cell {i}: {cell.source.splitlines()[0] if cell.source else ''}")
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                print(out.text, end="")
            elif "data" in out:
                kinds = ", ".join(sorted(out.data))
                print(out.data.get("text/plain", ""), f"   [{kinds}]")
    print(f"saved {dst}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
