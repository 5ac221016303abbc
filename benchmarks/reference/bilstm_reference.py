#!/usr/bin/env python3
"""Independent PyTorch forward pass, loss and gradients of Tessera's BiLSTM student.

Reads a student directory (config.json + model.safetensors, as BiLstmStudent.save writes it) and a
JSON file of inputs, and prints one JSON object {"loss", "logits", "grads"}. Written from the model's
published description (Tang et al., 2019), with PyTorch's own modules, not from Tessera's code:

  * x = nn.Embedding(V, E)(ids);
  * h = nn.LSTM(E, H, num_layers=1, bidirectional=True, batch_first=True) over a packed sequence
    (pack_padded_sequence with each sentence's length), so every sentence runs alone;
  * p = max over each sentence's own positions of h (padding excluded by slicing, not by a bias);
  * z = classifier(relu(hidden(p)));
  * loss: distill: alpha * CE(z[gold rows], gold) + (1 - alpha) * F.mse_loss(z, teacher) (CE 0 without
    gold rows); baseline: CE over every row.

Inputs JSON: {"ids": [[...] per row, unpadded], "teacher": [[K floats] per row] or null,
"gold": [label or -1 per row], "alpha": float, "distill": bool}. Usage:
  bilstm_reference.py STUDENT_DIR INPUTS.json
"""
import json
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info
        start, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[base + start:base + end]), dtype=torch.float32)
        out[name] = t.reshape(info["shape"]).clone()
    return out


class Student(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embedding = nn.Embedding(c["vocab_size"], c["embedding_dim"])
        self.lstm = nn.LSTM(c["embedding_dim"], c["hidden_size"], num_layers=1, bidirectional=True, batch_first=True)
        self.hidden = nn.Linear(2 * c["hidden_size"], c["mlp_size"])
        self.classifier = nn.Linear(c["mlp_size"], c["num_labels"])

    def forward(self, rows):
        lengths = torch.tensor([len(r) for r in rows])
        t = int(lengths.max())
        ids = torch.zeros(len(rows), t, dtype=torch.long)
        for b, r in enumerate(rows):
            ids[b, :len(r)] = torch.tensor(r)
        packed = pack_padded_sequence(self.embedding(ids), lengths, batch_first=True, enforce_sorted=False)
        h, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True)
        pooled = torch.stack([h[b, :len(r)].max(dim=0).values for b, r in enumerate(rows)])
        return self.classifier(F.relu(self.hidden(pooled)))


def main():
    model_dir, inputs_path = sys.argv[1], sys.argv[2]
    with open(model_dir + "/config.json") as f:
        config = json.load(f)
    with open(inputs_path) as f:
        inputs = json.load(f)
    model = Student(config)
    tensors = load_safetensors(model_dir + "/model.safetensors")
    missing = model.load_state_dict(tensors, strict=True)
    assert not missing.missing_keys and not missing.unexpected_keys, missing
    z = model(inputs["ids"])
    gold = torch.tensor(inputs["gold"])
    labelled = gold >= 0
    ce = F.cross_entropy(z[labelled], gold[labelled]) if labelled.any() else z.sum() * 0
    if inputs["distill"]:
        mse = F.mse_loss(z, torch.tensor(inputs["teacher"]))
        loss = inputs["alpha"] * ce + (1 - inputs["alpha"]) * mse
    else:
        loss = ce
    loss.backward()
    grads = {name: p.grad.reshape(-1).tolist() for name, p in model.named_parameters()}
    print(json.dumps({"loss": loss.item(), "logits": z.detach().tolist(), "grads": grads}))


if __name__ == "__main__":
    main()
