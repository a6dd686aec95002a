from intelligentos.launch import main

main()
