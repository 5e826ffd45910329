"""One module per `batsim` subcommand (found automatically by sim.cli.main)."""
