from .erasure import main

main()
