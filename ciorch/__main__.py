from ciorch.cli import main

main()
