"""The application layer: App, Stream, Pipeline, Output and the threads that run them."""
