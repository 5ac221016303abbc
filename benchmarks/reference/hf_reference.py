#!/usr/bin/env python3
"""Independent PyTorch forward pass and loss of Hugging Face BERT / Megatron-BERT / GPT-2 / RoBERTa /
DistilBERT / ALBERT models.

Reads a Hugging Face model directory (config.json + model.safetensors) and a JSON file of inputs, runs
the forward pass of BertForPreTraining, MegatronBertForPreTraining, GPT2LMHeadModel, RobertaForMaskedLM
or DistilBertForMaskedLM in evaluation mode (no dropout) in plain PyTorch, and prints one JSON object with the losses and the logits.

It is written from Hugging Face's published semantics, not from Tessera's code, so that Tessera's
tests can check their models against an independent implementation (transformers itself is not
installable on the build machines):

  * BERT (post-LN): embeddings = LN(word + token_type + position), dropout; each layer
    LN(x + dense(attn(x))), LN(h + dense(act(dense(h)))); pooler tanh(dense(h[:, 0])); MLM head
    LN(act(dense(h))) @ word.T + cls.predictions.bias; NSP head Linear(C, 2).
    LayerNorm eps from config (1e-12 by default), act = hidden_act ("gelu" is exact erf GELU).
  * Megatron-BERT (pre-LN, model_type "megatron-bert"): no embedding LayerNorm; each layer
    r = x + dense(attn(ln(x))), y = r + dense(act(dense(ln(r)))); a final encoder.ln.
  * GPT-2: x = wte + wpe; each block pre-LN with causal attention; ln_f; logits = h @ wte.T;
    Conv1D weights are [in, out]; c_attn is [C, 3C] = [q | k | v]; "gelu_new" is the tanh GELU;
    LayerNorm eps from config (1e-5 by default).
  * Attention: scores = q @ k.T / sqrt(head_dim); masked positions get torch.finfo(float32).min
    (HF's extended attention mask (1 - mask) * min, added before softmax); GPT-2 applies its causal
    mask with torch.where(causal, scores, min) and then adds the padding mask, as HF's eager path.
  * RoBERTa (model_type "roberta"): BERT's post-LN layers; position ids from
    create_position_ids_from_input_ids: pad + cumsum(ids != pad) * (ids != pad), pad = pad_token_id
    (default 1); token type 0 unless given; lm_head: layer_norm(gelu(dense(h))) @ word.T + lm_head.bias,
    gelu exact whatever hidden_act says; no pooler, MLM loss only.
  * DistilBERT (model_type "distilbert"): embeddings LN(word + position[arange(T)]), no token types;
    each layer sa_layer_norm(x + out_lin(attn)), output_layer_norm(h + lin2(act(lin1(h)))), with
    q scaled by 1/sqrt(head_dim) before q @ k.T and masked scores filled with finfo(float32).min;
    head vocab_layer_norm(act(vocab_transform(h))) @ word.T + vocab_projector.bias; every LayerNorm
    eps 1e-12; act = config "activation".
  * Task heads (architectures[0] = ...ForSequenceClassification / ...ForTokenClassification):
    sequence: BERT classifier(tanh(pooler(h[:, 0]))); ALBERT classifier(tanh(albert.pooler(h[:, 0])));
    RoBERTa classifier.out_proj(tanh(classifier.dense(
    h[:, 0]))); DistilBERT classifier(relu(pre_classifier(h[:, 0]))); loss MSELoss on the squeezed
    logits for problem_type "regression" (the default when num_labels == 1), else CrossEntropyLoss;
    token: classifier(h) for every token, CrossEntropyLoss. num_labels = len(id2label).
  * ALBERT (model_type "albert"): see albert() below; the sentence-order labels are read from
    "sentence_order_label" as AlbertForPreTraining names them.
  * Losses: CrossEntropyLoss (ignore_index=-100, mean); BERT total = MLM + NSP; GPT-2 shifts the
    labels by one (logits[:, :-1] against labels[:, 1:]).

Usage: hf_reference.py MODEL_DIR INPUTS_JSON [--grads]
  --grads (task heads): also backpropagate the loss and print "grads": {tensor name: flat gradient}
          for every tensor of model.safetensors that the loss reaches.
  INPUTS_JSON: {"input_ids": [[...]], "attention_mask": [[...]] | null, "token_type_ids": [[...]] | null,
                "labels": [[...]] | null, "next_sentence_label": [...] | null,
                "sequence_labels": [...] | null (a sequence classifier's labels, HF's "labels")}
Output (stdout): {"model_type": ..., "loss": x | null, "mlm_loss": x, "nsp_loss": x, "logits": [[[...]]]}
"""

import json
import math
import struct
import sys

import torch
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F16": torch.float16, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32}
NEG = torch.finfo(torch.float32).min


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
        start, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[base + start:base + end]), dtype=DTYPES[info["dtype"]])
        out[name] = t.reshape(info["shape"]).to(torch.float32)
    return out


def activation(name):
    if name == "gelu":
        return lambda x: F.gelu(x)
    if name == "gelu_new":
        return lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
    raise ValueError("unsupported activation " + name)


class Weights:
    """Tensors by name; accepts checkpoints saved with or without the base-model prefix."""

    def __init__(self, tensors, prefix):
        self.t = tensors
        self.prefix = prefix

    def __getitem__(self, name):
        if name in self.t:
            return self.t[name]
        if name.startswith(self.prefix + ".") and name[len(self.prefix) + 1:] in self.t:
            return self.t[name[len(self.prefix) + 1:]]
        raise KeyError(name)


def linear(w, x, name):
    """torch.nn.Linear: weight [out, in]."""
    return F.linear(x, w[name + ".weight"], w[name + ".bias"])


def conv1d(w, x, name):
    """HF GPT-2 Conv1D: weight [in, out]."""
    return torch.addmm(w[name + ".bias"], x.reshape(-1, x.shape[-1]), w[name + ".weight"]).reshape(*x.shape[:-1], -1)


def layer_norm(w, x, name, eps):
    return F.layer_norm(x, (x.shape[-1],), w[name + ".weight"], w[name + ".bias"], eps)


def split_heads(x, heads):
    b, t, c = x.shape
    return x.view(b, t, heads, c // heads).permute(0, 2, 1, 3)


def merge_heads(x):
    b, h, t, d = x.shape
    return x.permute(0, 2, 1, 3).contiguous().view(b, t, h * d)


def extended_mask(mask):
    """HF's get_extended_attention_mask: [B, T] 0/1 -> [B, 1, 1, T] additive."""
    return (1.0 - mask[:, None, None, :].to(torch.float32)) * NEG


def bert(cfg, w, inp):
    pre = cfg["model_type"] == "megatron-bert"
    eps = cfg.get("layer_norm_eps", 1e-12)
    heads = cfg["num_attention_heads"]
    act = activation(cfg.get("hidden_act", "gelu"))
    ids = torch.tensor(inp["input_ids"])
    b, t = ids.shape
    tt = torch.tensor(inp["token_type_ids"]) if inp.get("token_type_ids") is not None else torch.zeros_like(ids)
    mask = torch.tensor(inp["attention_mask"]) if inp.get("attention_mask") is not None else torch.ones_like(ids)
    ext = extended_mask(mask)

    word = w["bert.embeddings.word_embeddings.weight"]
    e = word[ids] + w["bert.embeddings.token_type_embeddings.weight"][tt]
    e = e + w["bert.embeddings.position_embeddings.weight"][torch.arange(t)]
    if not pre:
        e = layer_norm(w, e, "bert.embeddings.LayerNorm", eps)
    h = e

    def attention(x, p):
        q = split_heads(linear(w, x, p + "attention.self.query"), heads)
        k = split_heads(linear(w, x, p + "attention.self.key"), heads)
        v = split_heads(linear(w, x, p + "attention.self.value"), heads)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1]) + ext
        return linear(w, merge_heads(torch.matmul(torch.softmax(scores, dim=-1), v)), p + "attention.output.dense")

    for i in range(cfg["num_hidden_layers"]):
        p = "bert.encoder.layer.%d." % i
        if pre:
            h = h + attention(layer_norm(w, h, p + "attention.ln", eps), p)
            h = h + linear(w, act(linear(w, layer_norm(w, h, p + "ln", eps), p + "intermediate.dense")), p + "output.dense")
        else:
            h = layer_norm(w, attention(h, p) + h, p + "attention.output.LayerNorm", eps)
            m = linear(w, act(linear(w, h, p + "intermediate.dense")), p + "output.dense")
            h = layer_norm(w, m + h, p + "output.LayerNorm", eps)
    if pre:
        h = layer_norm(w, h, "bert.encoder.ln", eps)

    if task(cfg) != "pretraining":
        return task_head(cfg, w, h, inp)
    pooled = torch.tanh(linear(w, h[:, 0], "bert.pooler.dense"))
    tr = layer_norm(w, act(linear(w, h, "cls.predictions.transform.dense")), "cls.predictions.transform.LayerNorm", eps)
    logits = torch.matmul(tr, word.t()) + w["cls.predictions.bias"]
    nsp_logits = linear(w, pooled, "cls.seq_relationship")

    out = {"logits": logits.tolist(), "nsp_logits": nsp_logits.tolist(), "loss": None, "mlm_loss": None, "nsp_loss": None}
    total = None
    if inp.get("labels") is not None:
        mlm = F.cross_entropy(logits.view(-1, logits.shape[-1]), torch.tensor(inp["labels"]).view(-1))
        out["mlm_loss"] = mlm.item()
        total = mlm
    if inp.get("next_sentence_label") is not None:
        nsp = F.cross_entropy(nsp_logits.view(-1, 2), torch.tensor(inp["next_sentence_label"]).view(-1))
        out["nsp_loss"] = nsp.item()
        total = nsp if total is None else total + nsp
    out["loss"] = None if total is None else total.item()
    return out


def roberta(cfg, w, inp):
    eps = cfg.get("layer_norm_eps", 1e-12)
    heads = cfg["num_attention_heads"]
    pad = cfg.get("pad_token_id", 1)
    act = activation(cfg.get("hidden_act", "gelu"))
    ids = torch.tensor(inp["input_ids"])
    tt = torch.tensor(inp["token_type_ids"]) if inp.get("token_type_ids") is not None else torch.zeros_like(ids)
    mask = torch.tensor(inp["attention_mask"]) if inp.get("attention_mask") is not None else torch.ones_like(ids)
    ext = extended_mask(mask)
    not_pad = ids.ne(pad).int()
    position_ids = (torch.cumsum(not_pad, dim=1).type_as(not_pad) * not_pad).long() + pad

    word = w["roberta.embeddings.word_embeddings.weight"]
    e = word[ids] + w["roberta.embeddings.token_type_embeddings.weight"][tt]
    e = e + w["roberta.embeddings.position_embeddings.weight"][position_ids]
    h = layer_norm(w, e, "roberta.embeddings.LayerNorm", eps)
    for i in range(cfg["num_hidden_layers"]):
        p = "roberta.encoder.layer.%d." % i
        q = split_heads(linear(w, h, p + "attention.self.query"), heads)
        k = split_heads(linear(w, h, p + "attention.self.key"), heads)
        v = split_heads(linear(w, h, p + "attention.self.value"), heads)
        probs = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1]) + ext, dim=-1)
        a = linear(w, merge_heads(torch.matmul(probs, v)), p + "attention.output.dense")
        h = layer_norm(w, a + h, p + "attention.output.LayerNorm", eps)
        m = linear(w, act(linear(w, h, p + "intermediate.dense")), p + "output.dense")
        h = layer_norm(w, m + h, p + "output.LayerNorm", eps)
    if task(cfg) != "pretraining":
        return task_head(cfg, w, h, inp)
    x = layer_norm(w, F.gelu(linear(w, h, "lm_head.dense")), "lm_head.layer_norm", eps)
    logits = torch.matmul(x, word.t()) + w["lm_head.bias"]
    return mlm_output(logits, inp)


def distilbert(cfg, w, inp):
    eps = 1e-12
    heads = cfg["n_heads"]
    act = activation(cfg.get("activation", "gelu"))
    ids = torch.tensor(inp["input_ids"])
    b, t = ids.shape
    mask = torch.tensor(inp["attention_mask"]) if inp.get("attention_mask") is not None else torch.ones_like(ids)
    keep = (mask != 0).view(b, 1, 1, t)

    word = w["distilbert.embeddings.word_embeddings.weight"]
    e = word[ids] + w["distilbert.embeddings.position_embeddings.weight"][torch.arange(t)]
    h = layer_norm(w, e, "distilbert.embeddings.LayerNorm", eps)
    for i in range(cfg["n_layers"]):
        p = "distilbert.transformer.layer.%d." % i
        q = split_heads(linear(w, h, p + "attention.q_lin"), heads)
        k = split_heads(linear(w, h, p + "attention.k_lin"), heads)
        v = split_heads(linear(w, h, p + "attention.v_lin"), heads)
        scores = torch.matmul(q / math.sqrt(q.shape[-1]), k.transpose(2, 3))
        scores = scores.masked_fill(~keep, NEG)
        a = linear(w, merge_heads(torch.matmul(torch.softmax(scores, dim=-1), v)), p + "attention.out_lin")
        h = layer_norm(w, a + h, p + "sa_layer_norm", eps)
        f = linear(w, act(linear(w, h, p + "ffn.lin1")), p + "ffn.lin2")
        h = layer_norm(w, f + h, p + "output_layer_norm", eps)
    if task(cfg) != "pretraining":
        return task_head(cfg, w, h, inp)
    x = layer_norm(w, act(linear(w, h, "vocab_transform")), "vocab_layer_norm", eps)
    logits = torch.matmul(x, word.t()) + w["vocab_projector.bias"]
    return mlm_output(logits, inp)


def task(cfg):
    """The head named by architectures[0]: sequence, token or pretraining."""
    name = (cfg.get("architectures") or [""])[0]
    if name.endswith("ForSequenceClassification"):
        return "sequence"
    if name.endswith("ForTokenClassification"):
        return "token"
    return "pretraining"


def task_head(cfg, w, h, inp):
    """HF's ...ForSequenceClassification / ...ForTokenClassification heads in eval mode (dropout off)."""
    kind = cfg["model_type"]
    num_labels = len(cfg["id2label"]) if cfg.get("id2label") else cfg.get("num_labels", 2)
    if task(cfg) == "token":
        logits = linear(w, h, "classifier")
        out = {"logits": logits.tolist(), "loss": None}
        if inp.get("labels") is not None:
            loss = F.cross_entropy(logits.view(-1, num_labels), torch.tensor(inp["labels"]).view(-1))
            out["loss"], out["_loss"] = loss.item(), loss
        return out
    if kind in ("bert", "megatron-bert"):
        pooled = torch.tanh(linear(w, h[:, 0], "bert.pooler.dense"))
        logits = linear(w, pooled, "classifier")
    elif kind == "roberta":
        logits = linear(w, torch.tanh(linear(w, h[:, 0], "classifier.dense")), "classifier.out_proj")
    elif kind == "albert":
        logits = linear(w, torch.tanh(linear(w, h[:, 0], "albert.pooler")), "classifier")
    else:
        logits = linear(w, torch.relu(linear(w, h[:, 0], "pre_classifier")), "classifier")
    out = {"logits": logits.tolist(), "loss": None}
    if inp.get("sequence_labels") is not None:
        problem = cfg.get("problem_type") or ("regression" if num_labels == 1 else "single_label_classification")
        if problem == "regression":
            labels = torch.tensor(inp["sequence_labels"], dtype=torch.float32)
            loss = F.mse_loss(logits.squeeze(), labels.squeeze())
        else:
            labels = torch.tensor(inp["sequence_labels"], dtype=torch.long)
            loss = F.cross_entropy(logits.view(-1, num_labels), labels.view(-1))
        out["loss"], out["_loss"] = loss.item(), loss
    return out


def mlm_output(logits, inp):
    out = {"logits": logits.tolist(), "loss": None, "mlm_loss": None}
    if inp.get("labels") is not None:
        mlm = F.cross_entropy(logits.view(-1, logits.shape[-1]), torch.tensor(inp["labels"]).view(-1))
        out["mlm_loss"] = out["loss"] = mlm.item()
    return out


def albert(cfg, w, inp):
    """AlbertForPreTraining: factorised embedding (width E) + embedding_hidden_mapping_in, layer groups
    shared across depth (step i runs every layer of group int(i / (L / G))), post-LN layers without
    dropout on the FFN output, MLM head dense H->E, act, LayerNorm(E), tied decoder; SOP on the pooler."""
    eps = cfg.get("layer_norm_eps", 1e-12)
    heads = cfg["num_attention_heads"]
    act = activation(cfg.get("hidden_act", "gelu_new"))
    n_layers = cfg["num_hidden_layers"]
    n_groups = cfg.get("num_hidden_groups", 1)
    inner = cfg.get("inner_group_num", 1)
    ids = torch.tensor(inp["input_ids"])
    b, t = ids.shape
    tt = torch.tensor(inp["token_type_ids"]) if inp.get("token_type_ids") is not None else torch.zeros_like(ids)
    mask = torch.tensor(inp["attention_mask"]) if inp.get("attention_mask") is not None else torch.ones_like(ids)
    ext = extended_mask(mask)

    word = w["albert.embeddings.word_embeddings.weight"]
    e = word[ids] + w["albert.embeddings.token_type_embeddings.weight"][tt]
    e = e + w["albert.embeddings.position_embeddings.weight"][torch.arange(t)]
    e = layer_norm(w, e, "albert.embeddings.LayerNorm", eps)
    h = linear(w, e, "albert.encoder.embedding_hidden_mapping_in")

    def layer(x, p):
        q = split_heads(linear(w, x, p + "attention.query"), heads)
        k = split_heads(linear(w, x, p + "attention.key"), heads)
        v = split_heads(linear(w, x, p + "attention.value"), heads)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1]) + ext
        ctx = merge_heads(torch.matmul(torch.softmax(scores, dim=-1), v))
        a = layer_norm(w, x + linear(w, ctx, p + "attention.dense"), p + "attention.LayerNorm", eps)
        f = linear(w, act(linear(w, a, p + "ffn")), p + "ffn_output")
        return layer_norm(w, f + a, p + "full_layer_layer_norm", eps)

    for i in range(n_layers):
        g = int(i / (n_layers / n_groups))
        for j in range(inner):
            h = layer(h, "albert.encoder.albert_layer_groups.%d.albert_layers.%d." % (g, j))

    if task(cfg) != "pretraining":
        return task_head(cfg, w, h, inp)
    pooled = torch.tanh(linear(w, h[:, 0], "albert.pooler"))
    tr = layer_norm(w, act(linear(w, h, "predictions.dense")), "predictions.LayerNorm", eps)
    logits = torch.matmul(tr, word.t()) + w["predictions.bias"]
    sop_logits = linear(w, pooled, "sop_classifier.classifier")

    out = {"logits": logits.tolist(), "sop_logits": sop_logits.tolist(), "loss": None, "mlm_loss": None, "sop_loss": None}
    total = None
    if inp.get("labels") is not None:
        mlm = F.cross_entropy(logits.view(-1, logits.shape[-1]), torch.tensor(inp["labels"]).view(-1))
        out["mlm_loss"] = mlm.item()
        total = mlm
    if inp.get("sentence_order_label") is not None:
        sop = F.cross_entropy(sop_logits.view(-1, 2), torch.tensor(inp["sentence_order_label"]).view(-1))
        out["sop_loss"] = sop.item()
        total = sop if total is None else total + sop
    out["loss"] = None if total is None else total.item()
    return out


def gpt2(cfg, w, inp):
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    heads = cfg["n_head"]
    act = activation(cfg.get("activation_function", "gelu_new"))
    ids = torch.tensor(inp["input_ids"])
    b, t = ids.shape
    mask = torch.tensor(inp["attention_mask"]) if inp.get("attention_mask") is not None else None
    ext = extended_mask(mask) if mask is not None else None
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool)).view(1, 1, t, t)

    wte = w["transformer.wte.weight"]
    h = wte[ids] + w["transformer.wpe.weight"][torch.arange(t)]
    c = h.shape[-1]
    for i in range(cfg["n_layer"]):
        p = "transformer.h.%d." % i
        x = layer_norm(w, h, p + "ln_1", eps)
        q, k, v = conv1d(w, x, p + "attn.c_attn").split(c, dim=2)
        q, k, v = split_heads(q, heads), split_heads(k, heads), split_heads(v, heads)
        scores = torch.matmul(q, k.transpose(-1, -2)) / torch.full([], v.size(-1) ** 0.5)
        scores = torch.where(causal, scores, torch.full([], NEG))
        if ext is not None:
            scores = scores + ext
        a = conv1d(w, merge_heads(torch.matmul(torch.softmax(scores, dim=-1), v)), p + "attn.c_proj")
        h = h + a
        x = layer_norm(w, h, p + "ln_2", eps)
        h = h + conv1d(w, act(conv1d(w, x, p + "mlp.c_fc")), p + "mlp.c_proj")
    h = layer_norm(w, h, "transformer.ln_f", eps)
    logits = torch.matmul(h, wte.t())

    out = {"logits": logits.tolist(), "loss": None}
    if inp.get("labels") is not None:
        labels = torch.tensor(inp["labels"])
        shift_logits = logits[..., :-1, :].contiguous()
        shift_labels = labels[..., 1:].contiguous()
        out["loss"] = F.cross_entropy(shift_logits.view(-1, shift_logits.size(-1)), shift_labels.view(-1)).item()
    return out


def main(argv):
    if len(argv) not in (3, 4) or (len(argv) == 4 and argv[3] != "--grads"):
        sys.stderr.write(__doc__)
        return 2
    model_dir, inputs = argv[1], argv[2]
    grads = len(argv) == 4
    with open(model_dir + "/config.json") as f:
        cfg = json.load(f)
    with open(inputs) as f:
        inp = json.load(f)
    tensors = load_safetensors(model_dir + "/model.safetensors")
    torch.set_grad_enabled(grads)
    if grads:
        for t in tensors.values():
            if t.is_floating_point():
                t.requires_grad_(True)
    kind = cfg["model_type"]
    if kind in ("bert", "megatron-bert"):
        out = bert(cfg, Weights(tensors, "bert"), inp)
    elif kind == "gpt2":
        out = gpt2(cfg, Weights(tensors, "transformer"), inp)
    elif kind == "roberta":
        out = roberta(cfg, Weights(tensors, "roberta"), inp)
    elif kind == "distilbert":
        out = distilbert(cfg, Weights(tensors, "distilbert"), inp)
    elif kind == "albert":
        out = albert(cfg, Weights(tensors, "albert"), inp)
    else:
        raise ValueError("unsupported model_type " + kind)
    loss = out.pop("_loss", None)
    if grads:
        if loss is None:
            raise ValueError("--grads needs a task head and labels in the inputs")
        loss.backward()
        out["grads"] = {name: t.grad.flatten().tolist() for name, t in tensors.items() if t.grad is not None}
    out["model_type"] = kind
    out["torch_version"] = torch.__version__
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
