module ritual

go 1.26.8
