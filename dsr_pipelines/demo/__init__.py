"""The demo project: a generated shop, its lake and bucket (Faker: the `demo` extra)."""
