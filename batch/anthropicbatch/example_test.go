package anthropicbatch_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/socwarden/warden/batch"
	"github.com/socwarden/warden/batch/anthropicbatch"
)

// A batch's life: create it, poll it until it has ended, then stream its
// results. The test server stands in for api.anthropic.com with the API's
// batch objects and JSON-lines results file; in production only the API key
// (and no base URL) is passed to New.
func Example() {
	const id = "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF"
	polls := 0
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method + " " + r.URL.Path {
		case "POST /v1/messages/batches":
			w.Header().Set("content-type", "application/json")
			_, _ = io.WriteString(w, `{"id":"`+id+`","type":"message_batch","processing_status":"in_progress",`+
				`"request_counts":{"processing":2,"succeeded":0,"errored":0,"canceled":0,"expired":0},`+
				`"ended_at":null,"created_at":"2025-06-15T12:00:00Z","expires_at":"2025-06-16T12:00:00Z",`+
				`"cancel_initiated_at":null,"archived_at":null,"results_url":null}`)
		case "GET /v1/messages/batches/" + id:
			polls++
			status, ended, results := "in_progress", "null", "null"
			if polls > 1 {
				status, ended, results = "ended", `"2025-06-15T13:00:00Z"`, `"`+srv.URL+"/v1/messages/batches/"+id+`/results"`
			}
			w.Header().Set("content-type", "application/json")
			_, _ = io.WriteString(w, `{"id":"`+id+`","type":"message_batch","processing_status":"`+status+`",`+
				`"request_counts":{"processing":0,"succeeded":1,"errored":1,"canceled":0,"expired":0},`+
				`"ended_at":`+ended+`,"created_at":"2025-06-15T12:00:00Z","expires_at":"2025-06-16T12:00:00Z",`+
				`"cancel_initiated_at":null,"archived_at":null,"results_url":`+results+`}`)
		case "GET /v1/messages/batches/" + id + "/results":
			w.Header().Set("content-type", "application/binary")
			_, _ = io.WriteString(w,
				`{"custom_id":"task-2","result":{"type":"errored","error":{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: must be positive"}}}}`+"\n"+
					`{"custom_id":"task-1","result":{"type":"succeeded","message":{"id":"msg_01","type":"message","role":"assistant",`+
					`"model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"{\"status\":\"ok\"}"}],`+
					`"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1200,"output_tokens":40,`+
					`"cache_creation_input_tokens":0,"cache_read_input_tokens":300}}}}`+"\n")
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()

	client, err := anthropicbatch.New("sk-ant-example",
		anthropicbatch.WithBaseURL(srv.URL), anthropicbatch.WithHTTPClient(srv.Client()))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	request := func(customID string) batch.Request {
		return batch.Request{CustomID: customID, Params: batch.Params{Model: "claude-sonnet-4-5-20250929", MaxTokens: 1024,
			System: "You propose false-positive patterns.", Messages: []batch.Message{{Role: "user", Content: "{}"}}}}
	}
	batchID, err := client.Create(ctx, []batch.Request{request("task-1"), request("task-2")})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("created", batchID)
	for {
		status, err := client.Retrieve(ctx, batchID)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("status", status)
		if status == batch.ProcessingEnded {
			break
		}
		// A real caller waits between polls (the batch Scheduler does).
	}
	results, err := client.Results(ctx, batchID)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Results come in the provider's order: match them by custom_id.
	for _, r := range results {
		switch r.Type {
		case batch.RawSucceeded:
			fmt.Println(r.CustomID, r.Type, r.TextBlocks, "tokens in/out:", r.InputTokens, r.OutputTokens)
		default:
			fmt.Println(r.CustomID, r.Type, r.ErrorMessage)
		}
	}
	// Output:
	// created msgbatch_013Zva2CMHLNnXjNJJKqJ2EF
	// status in_progress
	// status ended
	// task-2 errored invalid_request_error: max_tokens: must be positive
	// task-1 succeeded [{"status":"ok"}] tokens in/out: 1500 40
}

// An API error body becomes an *APIError; Retryable tells a scheduler
// whether submitting the same batch again later can succeed.
func ExampleAPIError_Retryable() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("content-type", "application/json")
		w.Header().Set("request-id", "req_011CExample")
		w.WriteHeader(529)
		_, _ = io.WriteString(w, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
	}))
	defer srv.Close()

	client, _ := anthropicbatch.New("sk-ant-example", anthropicbatch.WithBaseURL(srv.URL))
	_, err := client.Create(context.Background(), []batch.Request{{CustomID: "task-1",
		Params: batch.Params{Model: "claude-sonnet-4-5-20250929", MaxTokens: 1024, Messages: []batch.Message{{Role: "user", Content: "{}"}}}}})
	var apiErr *anthropicbatch.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr)
		fmt.Println("retryable:", apiErr.Retryable())
	}
	// Output:
	// anthropic: 529 overloaded_error: Overloaded (request_id=req_011CExample)
	// retryable: true
}
