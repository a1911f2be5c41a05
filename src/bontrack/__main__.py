from bontrack.cli import main

main()
