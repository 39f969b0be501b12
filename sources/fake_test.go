package sources

import "context"

type fakeSource struct{ name string }

func (f fakeSource) Name() string    { return f.name }
func (f fakeSource) Adapter() string { return "fake" }
func (f fakeSource) Discover(context.Context, Progress) (Result, error) {
	return Result{}, nil
}
func (f fakeSource) Check(context.Context) error { return nil }
