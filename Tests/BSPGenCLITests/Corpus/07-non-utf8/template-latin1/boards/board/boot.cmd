echo été
