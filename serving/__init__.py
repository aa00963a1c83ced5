"""How the Gradio app serves requests (no inference here): request and error logs, and the gate in front
of Gradio's queue that bounds each endpoint's waiting calls and logs every refusal."""
