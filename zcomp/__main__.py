from zcomp.cli.main import main

main()
