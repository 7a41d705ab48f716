package scorer

// tree_ensemble: decision trees, random forests, extra trees, gradient
// boosting and histogram gradient boosting, with their exact input casts
// (scikit-learn's trees compare float32 inputs with float64 thresholds),
// NaN routing and categorical bitsets.

import (
	"fmt"
	"math"
)

// tnode is one node of a compiled tree; left < 0 marks a leaf.
type tnode struct {
	thr   float64
	feat  int32
	left  int32
	right int32
	miss  bool  // a NaN goes left
	cat   int16 // -1, or the node's bitset index in tree.bitsets (categorical split)
}

// fnode is a node of the compact layout used by trees without categorical
// splits: 16 bytes, the right child right after the left one. For a split,
// feat is the feature index with bit 31 set when a NaN goes left, and left
// the left child; for a leaf, left is -1 - (the leaf's row in value).
type fnode struct {
	thr  float64
	feat int32
	left int32
}

const missBit = -1 << 31

type tree struct {
	target, width int
	nodes         []tnode   // categorical trees
	fast          []fnode   // the others
	value         []float64 // len(nodes) x width
	bitsets       [][8]uint32
	categorical   bool
}

type ensemble struct {
	n, m      int
	cast      bool // float32 input cast
	init      []float64
	treeScale float64
	divide    float64
	known     map[int][8]uint32
	trees     []tree
}

// maxTreeNodes caps one tree (2^30 nodes: far beyond any fitted tree).
const maxTreeNodes = 1 << 30

func bitset(v *jval, where string) ([8]uint32, error) {
	var out [8]uint32
	b, err := ints(v, where, 8, -maxExactInt, maxExactInt)
	if err != nil {
		return out, err
	}
	for i, w := range b {
		if w < 0 || w > math.MaxUint32 {
			return out, fail(where, "bitset words must be unsigned 32-bit integers")
		}
		out[i] = uint32(w)
	}
	return out, nil
}

func cEnsemble(d *jval, where string, n, m int) (*modelNode, error) {
	if err := obj(d, where, with(modelCommon, "input_cast", "init", "tree_scale", "divide", "trees"),
		with(info, "known_categories")); err != nil {
		return nil, err
	}
	cast, err := enum(d.get("input_cast"), where+".input_cast", "none", "float32")
	if err != nil {
		return nil, err
	}
	e := &ensemble{n: n, m: m, cast: cast == "float32", known: map[int][8]uint32{}}
	if e.init, err = numbers(d.get("init"), where+".init", m); err != nil {
		return nil, err
	}
	if e.treeScale, err = number(d.get("tree_scale"), where+".tree_scale"); err != nil {
		return nil, err
	}
	if e.divide, err = number(d.get("divide"), where+".divide"); err != nil {
		return nil, err
	}
	if d.has("known_categories") {
		list, err := array(d.get("known_categories"), where+".known_categories")
		if err != nil {
			return nil, fail(where, "known_categories must be an array")
		}
		for i, k := range list {
			kw := fmt.Sprintf("%s.known_categories[%d]", where, i)
			if err := obj(k, kw, []string{"feature", "bitset"}, nil); err != nil {
				return nil, err
			}
			f, err := integer(k.get("feature"), kw+".feature", 0, n-1)
			if err != nil {
				return nil, err
			}
			if _, dup := e.known[f]; dup {
				return nil, fail(kw, "feature %d listed twice", f)
			}
			if e.known[f], err = bitset(k.get("bitset"), kw+".bitset"); err != nil {
				return nil, err
			}
		}
	}
	list, err := array(d.get("trees"), where+".trees")
	if err != nil {
		return nil, fail(where, "trees must be an array")
	}
	e.trees = make([]tree, len(list))
	for i, t := range list {
		if err := compileTree(t, fmt.Sprintf("%s.trees[%d]", where, i), e, &e.trees[i]); err != nil {
			return nil, err
		}
	}
	return &modelNode{nFeatures: n, nOutputs: m, raw: e.raw}, nil
}

func compileTree(d *jval, where string, e *ensemble, t *tree) error {
	if err := obj(d, where, []string{"target", "width", "feature", "threshold", "left", "right", "missing_left", "value"},
		[]string{"category_set", "bitsets"}); err != nil {
		return err
	}
	width, err := integer(d.get("width"), where+".width", 1, MaxWidth)
	if err != nil {
		return err
	}
	target, err := integer(d.get("target"), where+".target", 0, MaxWidth)
	if err != nil {
		return err
	}
	if target+width > e.m {
		return fail(where, "target %d + width %d exceeds n_outputs %d", target, width, e.m)
	}
	const big = maxExactInt
	left, err := ints(d.get("left"), where+".left", -1, -big, big)
	if err != nil {
		return err
	}
	N := len(left)
	if N == 0 {
		return fail(where, "a tree needs at least one node")
	}
	if N > maxTreeNodes {
		return fail(where, "more than %d nodes", maxTreeNodes)
	}
	right, err := ints(d.get("right"), where+".right", N, -big, big)
	if err != nil {
		return err
	}
	feature, err := ints(d.get("feature"), where+".feature", N, -big, big)
	if err != nil {
		return err
	}
	threshold, err := numbers(d.get("threshold"), where+".threshold", N)
	if err != nil {
		return err
	}
	missingLeft, err := ints(d.get("missing_left"), where+".missing_left", N, -big, big)
	if err != nil {
		return err
	}
	value, err := numbers(d.get("value"), where+".value", N*width)
	if err != nil {
		return err
	}
	// Structure: leaves have left == right == -1; an internal node's children
	// come after it (so there is no cycle) and every node but the root has
	// exactly one parent, so the arrays form one tree rooted at node 0 with
	// every node reachable.
	for i := 0; i < N; i++ {
		if (left[i] == -1) != (right[i] == -1) {
			return fail(where, "a node has exactly one child")
		}
	}
	for _, ch := range []struct {
		name string
		idx  []int
	}{{"left", left}, {"right", right}} {
		for i, c := range ch.idx {
			if left[i] != -1 && (c <= i || c >= N) {
				return fail(where, "%s child index must be greater than its parent's and below %d", ch.name, N)
			}
		}
	}
	parents := make([]int32, N)
	for i := 0; i < N; i++ {
		if left[i] != -1 {
			parents[left[i]]++
			parents[right[i]]++
		}
	}
	for i, p := range parents {
		if (i == 0 && p != 0) || (i > 0 && p != 1) {
			return fail(where, "every node but the root must have exactly one parent")
		}
	}
	for i, f := range feature {
		leaf := left[i] == -1
		if (leaf && f != -1) || (!leaf && (f < 0 || f >= e.n)) {
			return fail(where, "feature must be -1 for leaves and in [0, %d) for splits", e.n)
		}
	}
	for _, v := range missingLeft {
		if v != 0 && v != 1 {
			return fail(where, "missing_left must be 0 or 1")
		}
	}
	if d.has("category_set") != d.has("bitsets") {
		return fail(where, "category_set and bitsets go together")
	}
	var cat []int
	if d.has("category_set") {
		if cat, err = ints(d.get("category_set"), where+".category_set", N, -big, big); err != nil {
			return err
		}
		bl, err := array(d.get("bitsets"), where+".bitsets")
		if err != nil {
			return fail(where, "bitsets must be an array")
		}
		if len(bl) > math.MaxInt16 {
			return fail(where, "more than %d bitsets", math.MaxInt16)
		}
		t.bitsets = make([][8]uint32, len(bl))
		for i, b := range bl {
			if t.bitsets[i], err = bitset(b, fmt.Sprintf("%s.bitsets[%d]", where, i)); err != nil {
				return err
			}
		}
		for i, c := range cat {
			if (left[i] == -1 && c != -1) || c < -1 || c >= len(bl) {
				return fail(where, "category_set must be -1 or a bitset index in [0, %d)", len(bl))
			}
		}
		for i, c := range cat {
			if c >= 0 {
				if _, ok := e.known[feature[i]]; !ok {
					return fail(where, "feature %d has categorical splits but no known_categories entry", feature[i])
				}
				t.categorical = true
			}
		}
	}
	t.target, t.width, t.value = target, width, value
	if !t.categorical {
		t.fast = compact(threshold, feature, left, right, missingLeft)
		return nil
	}
	t.nodes = make([]tnode, N)
	for i := range t.nodes {
		nd := tnode{thr: threshold[i], feat: int32(feature[i]), left: int32(left[i]), right: int32(right[i]),
			miss: missingLeft[i] == 1, cat: -1}
		if nd.left < 0 {
			nd.feat = 0 // never read; keeps every index in range
		}
		if cat != nil {
			nd.cat = int16(cat[i])
		}
		t.nodes[i] = nd
	}
	return nil
}

// compact renumbers a validated tree breadth first so that siblings are
// adjacent, into 16-byte nodes.
func compact(threshold []float64, feature, left, right, missingLeft []int) []fnode {
	N := len(left)
	out := make([]fnode, N)
	order := make([]int, 1, N) // order[new index] = old index
	for k := 0; k < len(order); k++ {
		old := order[k]
		if left[old] == -1 {
			out[k] = fnode{feat: 0, left: int32(-1 - old)}
			continue
		}
		f := int32(feature[old])
		if missingLeft[old] == 1 {
			f |= missBit
		}
		out[k] = fnode{thr: threshold[old], feat: f, left: int32(len(order))}
		order = append(order, left[old], right[old])
	}
	return out
}

// f32Overflow: from here on, rounding a float64 to float32 gives infinity.
const f32Overflow = math.MaxFloat32 + (1 << 103)

// castFloat32 is numpy's float64 -> float32 -> float64 round trip.
func castFloat32(x float64) float64 {
	if x >= f32Overflow {
		return math.Inf(1)
	}
	if x <= -f32Overflow {
		return math.Inf(-1)
	}
	return float64(float32(x))
}

func bit(words *[8]uint32, c int) bool { return (words[c>>5]>>(uint(c)&31))&1 == 1 }

func (e *ensemble) raw(X []float64, n int) []float64 {
	nf, m := e.n, e.m
	if e.cast {
		Xc := make([]float64, len(X))
		for i, v := range X {
			Xc[i] = castFloat32(v)
		}
		X = Xc
	}
	out := make([]float64, n*m)
	for i := 0; i < n; i++ {
		copy(out[i*m:(i+1)*m], e.init)
	}
	scale := e.treeScale
	for ti := range e.trees {
		t := &e.trees[ti]
		fast := t.fast
		for i := 0; i < n; i++ {
			x := X[i*nf : (i+1)*nf]
			var leaf int32
			if t.categorical {
				leaf = e.walkCategorical(t, x)
			} else {
				leaf = walk(fast, x)
			}
			w := t.width
			vals := t.value[int(leaf)*w : int(leaf)*w+w]
			o := out[i*m+t.target : i*m+t.target+w]
			for k, lv := range vals {
				o[k] += float64(scale * lv) // explicit rounding: never fused into an FMA
			}
		}
	}
	if e.divide != 1 {
		for i := range out {
			out[i] /= e.divide
		}
	}
	return out
}

// walk returns the row in value of the leaf x reaches.
func walk(nodes []fnode, x []float64) int32 {
	var idx int32
	for {
		nd := &nodes[idx]
		next := nd.left
		if next < 0 {
			return -1 - next
		}
		f := nd.feat
		v := x[f&^missBit]
		// right unless v <= thr, or v is NaN and NaN goes left
		next += b2i(!(v <= nd.thr) && (v == v || f >= 0))
		idx = next
	}
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

func (e *ensemble) walkCategorical(t *tree, x []float64) int32 {
	nodes := t.nodes
	var idx int32
	for {
		nd := &nodes[idx]
		if nd.left < 0 {
			return idx
		}
		v := x[nd.feat]
		var goLeft bool
		switch {
		case v != v:
			goLeft = nd.miss
		case nd.cat < 0:
			goLeft = v <= nd.thr
		case v >= 0 && v < 256:
			c := int(v) // truncation
			if bit(&t.bitsets[nd.cat], c) {
				goLeft = true
			} else if known, ok := e.known[int(nd.feat)]; ok && bit(&known, c) {
				goLeft = false
			} else {
				goLeft = nd.miss
			}
		default:
			goLeft = nd.miss
		}
		if goLeft {
			idx = nd.left
		} else {
			idx = nd.right
		}
	}
}
