package graph

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os/exec"
	"testing"

	"github.com/colbert-go/colbert/model"
)

// torchMLMScript computes HF BertForMaskedLM's head and loss with PyTorch
// from the JSON on stdin (hidden states, positions, labels, head tensors,
// word embeddings) and prints the loss and the gradients.
const torchMLMScript = `
import json, sys
import torch
import torch.nn.functional as F
torch.set_num_threads(1)
a = json.load(sys.stdin)
t = lambda k: torch.tensor(a[k], dtype=torch.float64).reshape(a["shape_" + k]).requires_grad_()
h, w = t("hidden"), t("word")
dw, db, lw, lb, bias = (t(k) for k in ("dense_w", "dense_b", "ln_w", "ln_b", "bias"))
x = h.reshape(-1, h.shape[-1])[torch.tensor(a["positions"])]
x = F.layer_norm(F.gelu(x @ dw.T + db), (x.shape[-1],), lw, lb, eps=a["eps"])
loss = F.cross_entropy(x @ w.T + bias, torch.tensor(a["labels"]))
loss.backward()
out = {"loss": loss.item()}
for k, v in (("hidden", h), ("word", w), ("dense_w", dw), ("dense_b", db), ("ln_w", lw), ("ln_b", lb), ("bias", bias)):
    out[k] = v.grad.reshape(-1).tolist()
print(json.dumps(out))
`

// TestMLMHeadMatchesTorch checks the head's loss and every gradient
// (hidden states, the tied word embeddings, the head tensors) against
// PyTorch in float64 (Debian's /usr/bin/python3 with torch; skipped without).
func TestMLMHeadMatchesTorch(t *testing.T) {
	cfg, p := tinyMLMModel(t)
	r := rand.New(rand.NewPCG(21, 22))
	const b, l = 2, 5
	h := cfg.HiddenSize
	hid := randData(r, b*l*h, 1)
	pos, labels := []int{0, 3, 4, 7, 3}, []int{2, 10, 0, 5, 2}
	in := map[string]any{"positions": pos, "labels": labels, "eps": cfg.LayerNormEps,
		"hidden": hid, "shape_hidden": []int{b, l, h}}
	for k, n := range map[string]string{"word": "embeddings.word_embeddings.weight", "dense_w": model.MLMDenseWeight,
		"dense_b": model.MLMDenseBias, "ln_w": model.MLMNormWeight, "ln_b": model.MLMNormBias, "bias": model.MLMBias} {
		in[k], in["shape_"+k] = p[n].Data, p[n].Shape
	}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", "-c", torchMLMScript)
	cmd.Stdin = bytes.NewReader(raw)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outRaw, err := cmd.Output()
	if err != nil {
		t.Skipf("PyTorch peer unavailable (/usr/bin/python3 with torch): %v %s", err, stderr.String())
	}
	var want map[string]any
	if err := json.Unmarshal(outRaw, &want); err != nil {
		t.Fatal(err)
	}

	g := New(cfg, p)
	loss := g.CELoss(g.MLMLogits(g.Input("hidden", hid, b, l, h), pos), labels, 1)
	res, err := g.Backward(loss)
	if err != nil {
		t.Fatal(err)
	}
	if d := math.Abs(float64(res.Loss) - want["loss"].(float64)); d > 1e-5 {
		t.Errorf("loss %g, torch %g", res.Loss, want["loss"])
	}
	for k, n := range map[string]string{"hidden": "hidden", "word": "embeddings.word_embeddings.weight",
		"dense_w": model.MLMDenseWeight, "dense_b": model.MLMDenseBias, "ln_w": model.MLMNormWeight,
		"ln_b": model.MLMNormBias, "bias": model.MLMBias} {
		ref := want[k].([]any)
		got := res.Grads[n].Data
		if len(ref) != len(got) {
			t.Fatalf("%s: %d gradient values, torch %d", n, len(got), len(ref))
		}
		var worst, scale float64
		for i, v := range ref {
			worst = math.Max(worst, math.Abs(float64(got[i])-v.(float64)))
			scale = math.Max(scale, math.Abs(v.(float64)))
		}
		t.Logf("%s: max abs diff %.3g (max |grad| %.3g)", n, worst, scale)
		if worst > 1e-5*math.Max(1, scale) {
			t.Errorf("%s: gradient differs from torch by %g", n, worst)
		}
	}
}
