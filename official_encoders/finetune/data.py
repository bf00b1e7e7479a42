"""Reading labelled examples (sentence prediction) from TSV/CSV files."""

import csv
import os


def read_examples(path, text_columns, label_column, has_header=True):
    """Reads a .tsv or .csv file into ([tuple of texts], [label strings])."""
    delimiter = "\t" if path.endswith((".tsv", ".txt")) else ","
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Data file {path} does not exist.")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL))
    if has_header:
        if not rows:
            raise ValueError(f"{path} is empty; expected a header row.")
        header, rows = rows[0], rows[1:]
    else:
        header = []

    def column(name):
        if name in header:
            return header.index(name)
        if name.lstrip("-").isdigit():
            return int(name)
        raise ValueError(f"{path}: no column {name!r}; header has {header}. Use a header name "
                         "or a 0-based index.")

    text_indices = [column(c) for c in text_columns]
    label_index = column(label_column)
    texts, labels = [], []
    for line_number, row in enumerate(rows, start=2 if has_header else 1):
        if not row:
            continue
        try:
            texts.append(tuple(row[i] for i in text_indices))
            labels.append(row[label_index])
        except IndexError:
            raise ValueError(f"{path}:{line_number}: row has {len(row)} fields; expected columns "
                             f"{text_columns + [label_column]}.") from None
    if not texts:
        raise ValueError(f"{path} has no examples.")
    return texts, labels
