from intelligentos.cli import main

main()
