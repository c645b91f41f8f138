"""The command line (Typer + Rich): parses, calls the pipeline, prints. No domain logic here."""
