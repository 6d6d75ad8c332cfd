package onnx

import (
	"bufio"
	"encoding/binary"
	"io"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The subset of onnx.proto (IR version 8) that an inference graph needs,
// encoded by hand. Field numbers follow onnx/onnx.proto.

// Tensor element types (TensorProto.DataType).
const (
	dtFloat = 1
	dtInt64 = 7
)

// AttributeProto.AttributeType values.
const (
	attrFloat  = 1
	attrInt    = 2
	attrString = 3
	attrInts   = 7
)

type tensorProto struct {
	name  string
	dtype int32
	dims  []int64
	f32   []float32 // for dtFloat
	i64   []int64   // for dtInt64
	// trOut > 0: f32 holds an [trOut, len/trOut] matrix and the tensor is
	// its transpose, produced while writing (no transposed copy in memory).
	trOut int
}

// values is the number of elements.
func (t *tensorProto) values() int {
	if t.dtype == dtInt64 {
		return len(t.i64)
	}
	return len(t.f32)
}

// rawLen is the length of raw_data: little-endian bytes.
func (t *tensorProto) rawLen() int {
	if t.dtype == dtInt64 {
		return 8 * len(t.i64)
	}
	return 4 * len(t.f32)
}

// header is every field before raw_data's bytes, raw_data's tag and
// length included.
func (t *tensorProto) header() []byte {
	var b []byte
	for _, d := range t.dims {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(t.dtype))
	b = appendString(b, 8, t.name)
	// raw_data (9): little-endian bytes, the compact form exporters use.
	b = protowire.AppendTag(b, 9, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(t.rawLen()))
}

// size is the encoded message's length.
func (t *tensorProto) size() int { return len(t.header()) + t.rawLen() }

// writeTo streams the encoded message (the bytes marshal returns).
func (t *tensorProto) writeTo(w *bufio.Writer) error {
	if _, err := w.Write(t.header()); err != nil {
		return err
	}
	var buf [8]byte
	n := t.values()
	for k := 0; k < n; k++ {
		var err error
		switch {
		case t.dtype == dtInt64:
			binary.LittleEndian.PutUint64(buf[:], uint64(t.i64[k]))
			_, err = w.Write(buf[:8])
		case t.trOut > 0:
			// Element (i, o) of the [in, out] transpose is src[o, i].
			in := n / t.trOut
			i, o := k/t.trOut, k%t.trOut
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(t.f32[o*in+i]))
			_, err = w.Write(buf[:4])
		default:
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(t.f32[k]))
			_, err = w.Write(buf[:4])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *tensorProto) marshal() []byte {
	var b bytesWriter
	w := bufio.NewWriter(&b)
	if err := t.writeTo(w); err != nil {
		panic(err) // writes to memory do not fail
	}
	if err := w.Flush(); err != nil {
		panic(err)
	}
	return b
}

// bytesWriter appends to itself.
type bytesWriter []byte

func (b *bytesWriter) Write(p []byte) (int, error) {
	*b = append(*b, p...)
	return len(p), nil
}

type attribute struct {
	name string
	typ  int
	f    float32
	i    int64
	s    string
	ints []int64
}

func (a *attribute) marshal() []byte {
	var b []byte
	b = appendString(b, 1, a.name)
	switch a.typ {
	case attrFloat:
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.f))
	case attrInt:
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.i))
	case attrString:
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendString(b, a.s)
	case attrInts:
		for _, v := range a.ints {
			b = protowire.AppendTag(b, 8, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(v))
		}
	}
	b = protowire.AppendTag(b, 20, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(a.typ))
	return b
}

type nodeProto struct {
	name    string
	opType  string
	inputs  []string
	outputs []string
	attrs   []attribute
}

func (n *nodeProto) marshal() []byte {
	var b []byte
	// Inputs and outputs are positional: an empty name (an omitted optional
	// input) must still be written.
	for _, s := range n.inputs {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	for _, s := range n.outputs {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	b = appendString(b, 3, n.name)
	b = appendString(b, 4, n.opType)
	for i := range n.attrs {
		b = appendMessage(b, 5, n.attrs[i].marshal())
	}
	return b
}

// valueInfo describes a graph input or output: element type and a shape
// whose entries are fixed sizes or symbolic names (dynamic axes).
type valueInfo struct {
	name  string
	dtype int32
	dims  []any // int64 or string
}

func (v *valueInfo) marshal() []byte {
	var shape []byte
	for _, d := range v.dims {
		var dim []byte
		switch d := d.(type) {
		case int64:
			dim = protowire.AppendTag(dim, 1, protowire.VarintType)
			dim = protowire.AppendVarint(dim, uint64(d))
		case string:
			dim = appendString(dim, 2, d)
		}
		shape = appendMessage(shape, 1, dim)
	}
	var tt []byte
	tt = protowire.AppendTag(tt, 1, protowire.VarintType)
	tt = protowire.AppendVarint(tt, uint64(v.dtype))
	tt = appendMessage(tt, 2, shape)
	typ := appendMessage(nil, 1, tt) // TypeProto.tensor_type
	var b []byte
	b = appendString(b, 1, v.name)
	b = appendMessage(b, 2, typ)
	return b
}

type graphProto struct {
	name         string
	nodes        []nodeProto
	initializers []tensorProto
	inputs       []valueInfo
	outputs      []valueInfo
}

// graph streams the graph: nodes, name, initializers (streamed, the bulk
// of the bytes), inputs, outputs. With w nil it only counts the bytes.
func (g *graphProto) writeTo(w *bufio.Writer) (int, error) {
	n := 0
	put := func(b []byte) error {
		n += len(b)
		if w == nil {
			return nil
		}
		_, err := w.Write(b)
		return err
	}
	for i := range g.nodes {
		if err := put(appendMessage(nil, 1, g.nodes[i].marshal())); err != nil {
			return n, err
		}
	}
	if err := put(appendString(nil, 2, g.name)); err != nil {
		return n, err
	}
	for i := range g.initializers {
		t := &g.initializers[i]
		sz := t.size()
		b := protowire.AppendTag(nil, 5, protowire.BytesType)
		if err := put(protowire.AppendVarint(b, uint64(sz))); err != nil {
			return n, err
		}
		n += sz
		if w != nil {
			if err := t.writeTo(w); err != nil {
				return n, err
			}
		}
	}
	for i := range g.inputs {
		if err := put(appendMessage(nil, 11, g.inputs[i].marshal())); err != nil {
			return n, err
		}
	}
	for i := range g.outputs {
		if err := put(appendMessage(nil, 12, g.outputs[i].marshal())); err != nil {
			return n, err
		}
	}
	return n, nil
}

type modelProto struct {
	irVersion       int64
	opset           int64
	producerName    string
	producerVersion string
	docString       string
	graph           graphProto
	metadata        [][2]string
}

// writeTo streams the model without holding its bytes: the graph's length
// prefix comes from a counting pass.
func (m *modelProto) writeTo(out io.Writer) error {
	w := bufio.NewWriterSize(out, 1<<20)
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(m.irVersion))
	b = appendString(b, 2, m.producerName)
	b = appendString(b, 3, m.producerVersion)
	b = appendString(b, 6, m.docString)
	gsize, _ := m.graph.writeTo(nil)
	b = protowire.AppendTag(b, 7, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(gsize))
	if _, err := w.Write(b); err != nil {
		return err
	}
	if _, err := m.graph.writeTo(w); err != nil {
		return err
	}
	// opset_import: the default ONNX domain ("") at the given version.
	var op []byte
	op = protowire.AppendTag(op, 2, protowire.VarintType)
	op = protowire.AppendVarint(op, uint64(m.opset))
	b = appendMessage(nil, 8, op)
	for _, kv := range m.metadata {
		var e []byte
		e = appendString(e, 1, kv[0])
		e = appendString(e, 2, kv[1])
		b = appendMessage(b, 14, e)
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	return w.Flush()
}

func (m *modelProto) marshal() []byte {
	var b bytesWriter
	if err := m.writeTo(&b); err != nil {
		panic(err) // writes to memory do not fail
	}
	return b
}

// appendString writes a string field, omitting it when empty (proto2
// optional fields that are unset).
func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}
