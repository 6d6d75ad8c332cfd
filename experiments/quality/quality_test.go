package quality

import (
	"reflect"
	"testing"

	"github.com/colbert-go/colbert/train"
)

func TestConfigsValidate(t *testing.T) {
	for name, c := range map[string]train.Config{
		"teacher-easy": TeacherEasyConfig("bench", "tok.json", "easy.jsonl", "out"),
		"teacher":      TeacherConfig("bench", "tok.json", "lists.jsonl", "easy/checkpoints/step-00001000", "out"),
		"student":      StudentConfig("bench", "tok.json", "scores.parquet", "out"),
		"contrastive":  ContrastiveConfig("bench", "tok.json", "scores.parquet", "out"),
		"bi-encoder":   BiEncoderConfig("bench", "tok.json", "scores.parquet", "out"),
	} {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		// The config must survive the TOML round trip train_config.toml uses.
		raw, err := c.Encode()
		if err != nil {
			t.Fatalf("%s: encode: %v", name, err)
		}
		back, err := train.ParseConfig(raw, name)
		if err != nil {
			t.Fatalf("%s: parse: %v", name, err)
		}
		if !reflect.DeepEqual(back, c) {
			t.Errorf("%s: TOML round trip changed the config:\n%+v\n%+v", name, c, back)
		}
	}
}

// The KL/contrastive ablation is only fair when nothing but the objective
// differs.
func TestAblationDiffersOnlyInLoss(t *testing.T) {
	kl := StudentConfig("b", "t", "s", "o")
	ct := ContrastiveConfig("b", "t", "s", "o")
	if kl.Loss != train.LossKL || ct.Loss != train.LossContrastive {
		t.Fatalf("losses %q, %q", kl.Loss, ct.Loss)
	}
	if ct.LabelCE != 0 {
		t.Errorf("contrastive config has label_ce %g: it is a term of the KL objective", ct.LabelCE)
	}
	ct.Loss, ct.Tau, ct.LabelCE = kl.Loss, kl.Tau, kl.LabelCE
	if !reflect.DeepEqual(kl, ct) {
		t.Errorf("contrastive config differs from the KL one beyond the objective (loss, tau, label_ce):\n%+v\n%+v", kl, ct)
	}
}
