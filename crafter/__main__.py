from crafter.cli.app import main

main()
