"""A plain-Python BERT packer used as the reference for bert_pack_inputs.

Written as the literal loop (one token per segment in turn), independent of
the closed form in preprocessors.packing.
"""


def pack(segments, seq_length, cls_id, sep_id, pad_id, truncation="round_robin"):
    budget = seq_length - len(segments) - 1
    kept = [0] * len(segments)
    if truncation == "round_robin":
        while budget > 0:
            progressed = False
            for i, segment in enumerate(segments):
                if budget > 0 and kept[i] < len(segment):
                    kept[i] += 1
                    budget -= 1
                    progressed = True
            if not progressed:
                break
    else:
        for i, segment in enumerate(segments):
            kept[i] = min(len(segment), budget)
            budget -= kept[i]
    ids, types = [cls_id], [0]
    for i, segment in enumerate(segments):
        ids += list(segment[:kept[i]]) + [sep_id]
        types += [i] * (kept[i] + 1)
    mask = [1] * len(ids) + [0] * (seq_length - len(ids))
    ids += [pad_id] * (seq_length - len(ids))
    types += [0] * (seq_length - len(types))
    return ids, mask, types
