"""`datamap.yaml`: the model, its reference graph, its checks, and a first draft from a schema."""
