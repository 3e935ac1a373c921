from seqcast.cli import main

main()
