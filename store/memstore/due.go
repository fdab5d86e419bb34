package memstore

import (
	"cmp"
	"container/heap"
	"strings"
)

// dueHeap orders the queued jobs by (RunAt, ID), so that Claim and NextDue
// cost O(log n) per job instead of a scan of the queue.
type dueHeap []*entry

// Len implements [heap.Interface].
func (h dueHeap) Len() int { return len(h) }

// Less implements [heap.Interface].
func (h dueHeap) Less(i, j int) bool {
	a, b := h[i].job, h[j].job
	return cmp.Or(a.RunAt.Compare(b.RunAt), strings.Compare(a.ID, b.ID)) < 0
}

// Swap implements [heap.Interface].
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

// Push implements [heap.Interface].
func (h *dueHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}

// Pop implements [heap.Interface].
func (h *dueHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

// add queues e.
func (h *dueHeap) add(e *entry) { heap.Push(h, e) }

// fix restores the order after e's RunAt changed.
func (h *dueHeap) fix(e *entry) { heap.Fix(h, e.index) }

// remove takes e out of the queue.
func (h *dueHeap) remove(e *entry) { heap.Remove(h, e.index) }
