package ort

import (
	"fmt"
	"slices"

	ortgo "github.com/yalue/onnxruntime_go"
)

// Options configures a session.
type Options struct {
	// IntraOpThreads is ORT's thread count inside one operator; 0 lets ORT
	// choose (all cores).
	IntraOpThreads int
}

// Output is one float32 output tensor copied out of ORT.
type Output struct {
	Name  string
	Shape []int64
	Data  []float32
}

// Session is a model with int64 [batch, sequence] inputs and float32
// outputs, both dynamic in batch and sequence. Run is safe for concurrent use.
type Session struct {
	rt      *Runtime
	path    string
	s       *ortgo.DynamicAdvancedSession
	inNames []string
	outInfo []ortgo.InputOutputInfo
}

// Inspect lists a model's inputs and outputs.
func (r *Runtime) Inspect(modelPath string) (inputs, outputs []ortgo.InputOutputInfo, err error) {
	if err := r.acquire(); err != nil {
		return nil, nil, err
	}
	defer r.release()
	in, out, err := ortgo.GetInputOutputInfo(modelPath)
	if err != nil {
		return nil, nil, fmt.Errorf("ort: inspect %s: %w", modelPath, err)
	}
	return in, out, nil
}

// NewSession opens modelPath feeding inputNames (each int64 [batch, sequence])
// and fetching outputNames (each float32). Names missing from the model or of
// another type are refused with a message listing what the model has.
func (r *Runtime) NewSession(modelPath string, inputNames, outputNames []string, opts Options) (*Session, error) {
	in, out, err := r.Inspect(modelPath)
	if err != nil {
		return nil, err
	}
	for _, name := range inputNames {
		i := slices.IndexFunc(in, func(x ortgo.InputOutputInfo) bool { return x.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("ort: %s has no input %q (inputs: %s)", modelPath, name, describe(in))
		}
		if err := checkTensor(in[i], ortgo.TensorElementDataTypeInt64, 2); err != nil {
			return nil, fmt.Errorf("ort: %s input %q: %w", modelPath, name, err)
		}
	}
	if len(inputNames) != len(in) {
		return nil, fmt.Errorf("ort: %s needs inputs %s; this program feeds only %v", modelPath, describe(in), inputNames)
	}
	var outInfo []ortgo.InputOutputInfo
	for _, name := range outputNames {
		i := slices.IndexFunc(out, func(x ortgo.InputOutputInfo) bool { return x.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("ort: %s has no output %q (outputs: %s)", modelPath, name, describe(out))
		}
		if err := checkTensor(out[i], ortgo.TensorElementDataTypeFloat, -1); err != nil {
			return nil, fmt.Errorf("ort: %s output %q: %w", modelPath, name, err)
		}
		outInfo = append(outInfo, out[i])
	}
	so, err := ortgo.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("ort: session options: %w", err)
	}
	defer so.Destroy()
	if opts.IntraOpThreads > 0 {
		if err := so.SetIntraOpNumThreads(opts.IntraOpThreads); err != nil {
			return nil, fmt.Errorf("ort: intra-op threads %d: %w", opts.IntraOpThreads, err)
		}
	}
	if err := r.acquire(); err != nil {
		return nil, err
	}
	s, err := ortgo.NewDynamicAdvancedSession(modelPath, inputNames, outputNames, so)
	if err != nil {
		r.release()
		return nil, fmt.Errorf("ort: open %s: %w", modelPath, err)
	}
	return &Session{rt: r, path: modelPath, s: s, inNames: slices.Clone(inputNames), outInfo: outInfo}, nil
}

// checkTensor refuses a non-tensor, a wrong element type, or (rank ≥ 0) a
// wrong rank.
func checkTensor(info ortgo.InputOutputInfo, dt ortgo.TensorElementDataType, rank int) error {
	if info.OrtValueType != ortgo.ONNXTypeTensor {
		return fmt.Errorf("is a %s, want a tensor", info.OrtValueType)
	}
	if info.DataType != dt {
		return fmt.Errorf("element type %s, want %s", info.DataType, dt)
	}
	if rank >= 0 && len(info.Dimensions) != rank {
		return fmt.Errorf("shape %v has rank %d, want %d ([batch, sequence])", info.Dimensions, len(info.Dimensions), rank)
	}
	return nil
}

func describe(infos []ortgo.InputOutputInfo) string {
	s := "["
	for i, x := range infos {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %s %v", x.Name, x.DataType, x.Dimensions)
	}
	return s + "]"
}

// Path is the model file.
func (s *Session) Path() string { return s.path }

// Run feeds one [n, seqLen] int64 tensor per input name, in NewSession's
// order, and returns the outputs in NewSession's order.
func (s *Session) Run(n, seqLen int, feeds [][]int64) ([]Output, error) {
	if len(feeds) != len(s.inNames) {
		return nil, fmt.Errorf("ort: %d feeds for %d inputs", len(feeds), len(s.inNames))
	}
	shape := ortgo.NewShape(int64(n), int64(seqLen))
	ins := make([]ortgo.Value, len(feeds))
	defer func() {
		for _, v := range ins {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, f := range feeds {
		if len(f) != n*seqLen {
			return nil, fmt.Errorf("ort: input %q has %d values, want %d×%d", s.inNames[i], len(f), n, seqLen)
		}
		t, err := ortgo.NewTensor(shape, f)
		if err != nil {
			return nil, fmt.Errorf("ort: input %q: %w", s.inNames[i], err)
		}
		ins[i] = t
	}
	outs := make([]ortgo.Value, len(s.outInfo))
	defer func() {
		for _, v := range outs {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	if err := s.s.Run(ins, outs); err != nil {
		return nil, fmt.Errorf("ort: run %s: %w", s.path, err)
	}
	res := make([]Output, len(outs))
	for i, v := range outs {
		t, ok := v.(*ortgo.Tensor[float32])
		if !ok {
			return nil, fmt.Errorf("ort: output %q is %T, want a float32 tensor", s.outInfo[i].Name, v)
		}
		res[i] = Output{Name: s.outInfo[i].Name, Shape: slices.Clone([]int64(t.GetShape())), Data: slices.Clone(t.GetData())}
	}
	return res, nil
}

// Destroy frees the session.
func (s *Session) Destroy() error {
	if s.s == nil {
		return nil
	}
	err := s.s.Destroy()
	s.s = nil
	s.rt.release()
	return err
}
