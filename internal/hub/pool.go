package hub

import "sync"

// workers bounds the goroutines of a burst (closing every connection at
// shutdown, removing every membership, announcing rejoins after the store
// came back), so that 10,000 connections never mean 10,000 goroutines at
// once.
type workers struct{ size int }

// each runs fn(0..n-1) on at most w.size goroutines and waits for all.
func (w workers) each(n int, fn func(i int)) {
	if n == 0 {
		return
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, w.size) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
